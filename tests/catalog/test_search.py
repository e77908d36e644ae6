"""Search on a small fixed catalogue: the exact product first, prefixes, typos and stems found, a name match
above a description-only match, and any text answered without a syntax error."""

import secrets
from decimal import Decimal

import pytest

from catalog import selectors
from catalog import services as catalog_services
from catalog.models import Product
from catalog.types import ProductFilters, ProductSpec, VariantSpec
from tests.factories import make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    make_product(name="Trail Running Sneakers", description="Grippy and light.",
                 category=(("footwear", "Footwear"), ("running", "Running Shoes")))
    make_product(name="Canvas Tote", description="Carries your sneakers to the gym.",
                 category=(("bags", "Bags"), ("totes", "Totes")))
    make_product(name="Merino Beanie", description="Warm.", category=(("hats", "Hats"), ("beanies", "Beanies")))
    make_product(name="Runner Socks", description="Cushioned.", category=(("footwear", "Footwear"),
                                                                           ("socks", "Socks")))


def names(q: str) -> list[str]:
    return [card["name"] for card in selectors.product_list(filters=ProductFilters(q=q))["results"]]


def test_the_exact_name_comes_first(shop):
    assert names("Merino Beanie")[0] == "Merino Beanie"
    assert names("canvas tote") == ["Canvas Tote"]


def test_a_name_match_ranks_above_a_description_only_match(shop):
    found = names("sneakers")
    assert found[:2] == ["Trail Running Sneakers", "Canvas Tote"]


def test_prefixes_typos_and_stems(shop):
    assert "Merino Beanie" in names("meri")  # as you type
    assert names("snekers")[0] == "Trail Running Sneakers"  # a typo
    assert "Trail Running Sneakers" in names("run")  # running -> run
    assert "Runner Socks" in names("runner")


def test_categories_are_searched_too(shop):
    assert "Runner Socks" in names("socks") and "Merino Beanie" in names("beanies")


EVERYTHING = ["Canvas Tote", "Merino Beanie", "Runner Socks", "Trail Running Sneakers"]
ODD_TEXT = [  # (text, the names found): text without a word is no search at all; markup is its words
    ("", EVERYTHING), (r"""'"\&|!():*""", EVERYTHING), ("%_", EVERYTHING), ("'; DROP TABLE x; --", []),
    ("a" * 1000, []), ("run " * 300, ["Runner Socks", "Trail Running Sneakers"]),
    ("<b>", ["Canvas Tote", "Merino Beanie"]), ("sneakers %_", ["Canvas Tote", "Trail Running Sneakers"]),
    ("%_ zzzz", []),
]


@pytest.mark.parametrize(("q", "found"), ODD_TEXT, ids=lambda v: repr(v)[:20] if isinstance(v, str) else None)
def test_any_text_gets_an_answer_and_matches_only_as_words(shop, q, found):
    """The selector itself is given the whole text, however long: no syntax error, no wildcard, no injection."""
    assert sorted(names(q)) == found
    assert sorted(names("")) == EVERYTHING  # nothing was dropped along the way


@pytest.mark.parametrize(("q", "found"), ODD_TEXT, ids=lambda v: repr(v)[:20] if isinstance(v, str) else None)
def test_any_text_gets_the_same_answer_from_the_api_and_the_search_page(client, shop, q, found):
    listing = client.get("/api/v1/products/", {"q": q})
    assert listing.status_code == 200
    assert sorted(card["name"] for card in listing.json()["results"]) == sorted(names(q[:200]))
    page = client.get("/search/", {"q": q})
    assert page.status_code == 200
    assert [name for name in EVERYTHING if name in page.content.decode()] == sorted(names(q[:200]))


def test_an_edit_is_found_at_once(shop, on_commit):
    from catalog import services
    from catalog.models import Product

    with on_commit():
        Product.objects.filter(name="Canvas Tote").update(name="Waxed Weekender")
        services.product_refresh(product_ids=list(Product.objects.filter(name="Waxed Weekender")
                                                  .values_list("id", flat=True)))
    assert names("weekender") == ["Waxed Weekender"]


def test_suggestions_as_you_type(client, shop):
    from catalog.models import Product

    body = client.get("/api/v1/suggest/", {"q": "sne"}).json()
    slug = Product.objects.get(name="Trail Running Sneakers").slug
    assert body["suggestions"][0] == {"name": "Trail Running Sneakers", "url": f"/p/{slug}/"}
    assert client.get("/api/v1/suggest/", {"q": "'"}).json() == {"suggestions": []}


def test_attribute_facets_count_what_their_filter_returns(client):
    make_product(name="Tee A", stock=[5, 5], category=(("wear", "Wear"), ("tees", "Tees")))  # sizes S0, S1
    make_product(name="Tee B", stock=[5], category=(("wear", "Wear"), ("tees", "Tees")))  # size S0
    facets = client.get("/api/v1/products/").json()["facets"]["attributes"]
    sizes = {v["value"]: v["count"] for f in facets if f["name"] == "size" for v in f["values"]}
    assert sizes == {"S0": 2, "S1": 1}
    for value, count in sizes.items():
        assert client.get("/api/v1/products/", {"attr_size": value}).json()["count"] == count
    assert client.get("/api/v1/products/", {"attr_size": "XXL"}).json()["count"] == 0  # an unknown value
    response = client.get("/api/v1/products/", {"attr_Size;DROP": "x"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_input"
    page = client.get("/c/wear/", {"attr_size": "S1"}).content.decode()
    assert "Tee A" in page and "Tee B" not in page and "Clear size: S1" in page


def test_search_index_rebuild_command(shop, capsys, on_commit):
    from django.core.management import call_command

    from catalog.models import Product

    Product.objects.update(search_document=None)  # as after a botched import
    assert names("warm") == []  # a word of the description only: found through the document
    with on_commit():
        call_command("search_index", "--rebuild")
    assert "rebuilt the search documents of 4 products" in capsys.readouterr().out
    assert names("warm") == ["Merino Beanie"]


def test_one_typo_among_several_words_and_a_typo_of_a_new_name(shop, on_commit):
    from catalog import services
    from catalog.models import Product

    assert names("merino beanei") == ["Merino Beanie"]
    assert names("cavnas") == ["Canvas Tote"]  # transposed letters
    assert names("trail runing snekers")[0] == "Trail Running Sneakers"
    with on_commit():
        Product.objects.filter(name="Runner Socks").update(name="Alpaca Socks")
        services.product_refresh(product_ids=list(Product.objects.filter(name="Alpaca Socks")
                                                  .values_list("id", flat=True)))
    assert names("alpacca") == ["Alpaca Socks"]  # the lexicon learnt the new word with the edit


def test_every_facet_count_is_what_its_filter_returns(client):
    for n in range(6):
        make_product(name=f"Wool Scarf {n}", price=("19.00", "30.00", "75.00")[n % 3], stock=[n % 2 * 5],
                     category=(("wear", "Wear"), (f"scarves-{n % 2}", f"Scarves {n % 2}")))
    make_product(name="Steel Kettle", price="30.00", category=(("home", "Home"), ("kitchen", "Kitchen")))
    listing = client.get("/api/v1/products/", {"q": "wool scarf"}).json()
    assert listing["count"] == 6
    facets = listing["facets"]
    for category in facets["categories"]:
        found = client.get("/api/v1/products/", {"q": "wool scarf", "category": category["slug"]}).json()
        assert found["count"] == category["count"]
    assert sum(c["count"] for c in facets["categories"]) == 6
    for bucket in facets["price"]:
        params = {"q": "wool scarf", "min_price": bucket["min"]}
        if bucket["max"]:
            params["max_price"] = str(float(bucket["max"]) - 0.01)
        assert client.get("/api/v1/products/", params).json()["count"] == bucket["count"]
    in_stock = client.get("/api/v1/products/", {"q": "wool scarf", "in_stock": "true"}).json()
    assert in_stock["count"] == facets["in_stock"] == 3
    cheap = client.get("/api/v1/products/", {"q": "wool scarf", "max_price": "20"}).json()
    assert cheap["count"] == 2  # the price filter narrows the count...
    assert sum(b["count"] for b in cheap["facets"]["price"]) == 6  # ...but not the price facet


def test_pages_of_a_search_hold_every_match_once(client):
    for n in range(30):
        make_product(name=f"Linen Shirt {n:02d}")
    first = client.get("/api/v1/products/", {"q": "linen", "sort": "name"}).json()
    second = client.get("/api/v1/products/", {"q": "linen", "sort": "name", "page": 2}).json()
    shown = [p["name"] for p in first["results"] + second["results"]]
    assert shown == sorted(f"Linen Shirt {n:02d}" for n in range(30))
    assert first["next"] and second["previous"] and second["next"] is None
    past = client.get("/api/v1/products/", {"q": "linen", "page": 3})
    assert past.status_code == 404 and past.json()["num_pages"] == 2  # as docs/api.md: a page past the end
    far = client.get("/api/v1/products/", {"q": "linen", "page": "9" * 40})
    assert far.status_code == 404 and far.json()["num_pages"] == 2
    assert client.get("/search/", {"q": "linen", "page": "9" * 40}).status_code == 404


def test_the_search_page_offers_its_facets_as_links_that_keep_the_words(client):
    make_product(name="Wool Hat", price="19.00", category=(("wear", "Wear"), ("hats", "Hats")))
    make_product(name="Wool Coat", price="180.00", category=(("wear", "Wear"), ("coats", "Coats")))
    page = client.get("/search/", {"q": "wool"}).content.decode()
    assert "Best match" in page
    assert 'href="?q=wool&amp;max_price=24.99">Under $25</a>' in page
    assert 'href="?q=wool&amp;min_price=100.00&amp;max_price=199.99">$100 to $200</a>' in page
    assert 'href="?q=wool&amp;category=coats">Coats</a>' in page
    narrowed = client.get("/search/", {"q": "wool", "category": "coats"}).content.decode()
    assert "Wool Coat" in narrowed and "Wool Hat" not in narrowed and "Search all categories" in narrowed


def test_a_search_narrowed_to_an_unknown_category_searches_everything_and_says_so(client):
    make_product(name="Wool Hat")
    page = client.get("/search/", {"q": "wool", "category": "no-such-category"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Wool Hat" in text and "Showing every category" in text and "no-such-category" not in text.split(
        "Showing every category")[1]


SAMPLE_NAMES = [  # names as seed_catalog makes them, with the words whose prefixes the English stems lost
    ("Willow Down Sleeping Bag", ("sleeping", "sleeping-bags")),  # "Down" is an English stop word
    ("Cedar Recycled Polyester Tarp Shelter", ("camping", "tents")),  # recycl, polyest; "she" a stop word
    ("Zephyr Canvas Hip Pack", ("accessories", "bags")),  # zephyr -> zephyr, but zephy -> zephi; "can"
    ("Ember Suede Trekking Boot", ("footwear", "hiking")),  # trekking -> trek: "trekki" lost it
    ("Basalt Ceramic Serving Tray", ("home", "kitchen")),  # ceramic -> ceram, serving -> serv
    ("Fjord Stainless Insulated Bottle", ("accessories", "bottles")),  # insulated -> insul
    ("Ridge Organic Cotton Hiking Pant", ("clothing", "trousers")),  # organic -> organ
    ("Drift Silnylon Backpacking Tent", ("camping", "tents")),
]


def test_every_prefix_of_three_letters_or_more_of_a_name_word_finds_the_product():
    """'recy' found nothing while 'recyc' found dozens: the prefix was stemmed (recy -> reci) and matched against
    stems, and stop words (down, can, she, will) were dropped from the query and the documents."""
    for name, (top, sub) in SAMPLE_NAMES:
        make_product(name=name, category=((top, top.title()), (sub, sub.title())))
    missed = []
    for name, _ in SAMPLE_NAMES:
        for word in name.lower().split():
            missed.extend(word[:n] for n in range(3, len(word) + 1) if name not in names(word[:n]))
    assert missed == []
    assert names("down") == ["Willow Down Sleeping Bag"]
    assert sorted(names("recy poly")) == ["Cedar Recycled Polyester Tarp Shelter"]  # every word still required
    assert "Willow Down Sleeping Bag" in names("sleeps")  # stems still match: sleeps -> sleep


def test_a_correction_is_said_and_can_be_refused_and_an_unrelated_word_is_no_correction(client, shop):
    make_product(name="Cedar Tarp Shelter", category=(("camping", "Camping"), ("tents", "Tents")))
    page = client.get("/search/", {"q": "snekers"}).content.decode()
    assert "Showing results for" in page and "<strong>sneakers</strong>" in page
    assert 'search instead for <a href="?q=snekers&amp;exact=1">snekers</a>' in page
    assert "Trail Running Sneakers" in page
    exact = client.get("/search/", {"q": "snekers", "exact": "1"}).content.decode()
    assert "Trail Running Sneakers" not in exact and "Showing results for" not in exact
    assert names("sweater") == []  # two edits from "shelter" at seven letters: no correction, no tarp shelters
    empty = client.get("/search/", {"q": "hoodie"}).content.decode()
    assert "Nothing found for “hoodie”" in empty and 'href="/c/footwear/">Footwear</a>' in empty  # no dead end
    assert "Showing results for" not in client.get("/search/", {"q": "sneakers"}).content.decode()


@pytest.mark.parametrize(("a", "b", "edits"), [
    ("cavnas", "canvas", 1), ("snekers", "sneakers", 1), ("sweater", "shelter", 2), ("runer", "runner", 1),
    ("abc", "abc", 0), ("", "abc", 3), ("ab", "ba", 1), ("hoodie", "hood", 2),
])
def test_the_edit_distance_of_a_correction(a, b, edits):
    assert selectors._edits(a, b) == edits


def test_the_in_stock_count_is_what_ticking_it_shows_under_a_price_filter(client):
    """Issue 23: 'In stock only (N)' beside a listing narrowed by price counted the in-stock products of every
    price (51 beside 23 shown); ticking it keeps the price range, so its count must too."""
    for n in range(6):
        make_product(name=f"Wool Scarf {n}", price=("19.00", "30.00", "75.00")[n % 3], stock=[n % 2 * 5],
                     category=(("wear", "Wear"), ("scarves", "Scarves")))
    cheap = client.get("/api/v1/products/", {"q": "wool scarf", "max_price": "20"}).json()
    ticked = client.get("/api/v1/products/", {"q": "wool scarf", "max_price": "20", "in_stock": "true"}).json()
    assert cheap["count"] == 2 and ticked["count"] == 1
    assert cheap["facets"]["in_stock"] == ticked["count"]
    page = client.get("/search/", {"q": "wool scarf", "max_price": "20"}).content.decode()
    assert "In stock only (1)" in page


def test_a_product_with_long_attribute_values_is_saved_listed_filtered_and_faceted(client):
    """The listing index keeps a copy of a product's attribute values only where they fit a btree entry: a product
    with 30 variants engraved with 100 characters each (3 KB that do not compress) is saved all the same, and its
    department's listing, facets and filters read its values from its row."""
    engravings = [secrets.token_hex(50) for _ in range(30)]
    catalog_services.catalog_import(products=[ProductSpec(
        slug="engraved-flask", name="Engraved Flask", description="A flask.",
        category_path=(("gear", "Gear"), ("flasks", "Flasks")),
        variants=tuple(VariantSpec(sku=f"ENG-{i}", name=f"Engraving {i}", attributes={"engraving": text},
                                   price=Decimal("30.00"), on_hand=5) for i, text in enumerate(engravings)))])
    make_product(name="Plain Flask", category=(("gear", "Gear"), ("flasks", "Flasks")))
    # saved again: its derived columns rewritten
    catalog_services.product_refresh(product_ids=[Product.objects.get(slug="engraved-flask").id])
    listing = client.get("/api/v1/products/", {"category": "gear"}).json()
    assert {p["slug"] for p in listing["results"]} >= {"engraved-flask"} and listing["count"] == 2
    values = {v["value"] for f in listing["facets"]["attributes"] if f["name"] == "engraving" for v in f["values"]}
    assert values == set(engravings)
    found = client.get("/api/v1/products/", {"category": "gear", "attr_engraving": engravings[7]}).json()
    assert [p["slug"] for p in found["results"]] == ["engraved-flask"]


@pytest.mark.django_db(transaction=True)  # as a request runs it: the listing's transaction is its own
def test_a_listing_has_room_for_a_broad_words_matches_and_no_other_query_gets_it():
    """A listing holds its matches once (a CTE); at PostgreSQL's default 4 MB of work_mem a word matching a quarter
    of 100,000 products spilled them to a temporary file. The listing's own transaction gets more; the connection
    keeps the server's setting for everything else."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def work_mem() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW work_mem")
            return cursor.fetchone()[0]

    make_product(name="Roomy Tent")
    before = work_mem()
    with CaptureQueriesContext(connection) as queries:
        selectors._Search(ProductFilters(q="roomy")).run(offset=0, limit=24)
    assert any("set_config('work_mem'" in q["sql"] and "16MB" in q["sql"] for q in queries.captured_queries)
    assert before != "16MB" and work_mem() == before  # the server's own setting, whatever it is, once it is done


def test_attribute_values_written_by_any_path_keep_the_listing_copy_in_step():
    """The listing index's copy of a product's attribute values follows every write of them (a trigger), such as an
    older release's refresh still running during a deploy: its facets and filters agree."""
    from django.db import connection

    make_product(name="Tee C", category=(("wear", "Wear"), ("tees", "Tees")))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_product SET attribute_values = attribute_values || '{colour=Vermilion}' "
                       "WHERE name = 'Tee C'")
    found = selectors._Search(ProductFilters(category="wear")).run(offset=0, limit=24)  # uncached
    colours = {v["value"] for f in found["facets"]["attributes"] if f["name"] == "colour" for v in f["values"]}
    assert colours == {"Vermilion"}
    filtered = selectors._Search(ProductFilters(category="wear", attributes={"colour": "Vermilion"}))
    assert filtered.run(offset=0, limit=24)["total"] == 1


def test_a_json_null_attribute_is_no_value_and_breaks_no_listing(client):
    catalog_services.catalog_import(products=[ProductSpec(
        slug="null-colour", name="Null Colour Mug", description="A mug.", category_path=(("home", "Home"),),
        variants=(VariantSpec(sku="NULL-1", name="Mug", attributes={"colour": None, "size": "M"},
                              price=Decimal("9.00"), on_hand=3),))])
    listing = client.get("/api/v1/products/", {"category": "home"})
    assert listing.status_code == 200
    names = {f["name"]: [v["value"] for v in f["values"]] for f in listing.json()["facets"]["attributes"]}
    assert names == {"size": ["M"]}
