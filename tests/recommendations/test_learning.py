"""The recommender's mathematics, without a database: counts, minimum support, popularity, similar items, and the
offline evaluation on the sample catalogue's seeded history (co-purchase must beat popularity clearly)."""

from catalog.sample_data import sample_products
from orders.sample_data import sample_baskets
from recommendations import learning


def test_pairs_are_counted_once_per_order_in_both_directions():
    products, pairs = learning.basket_counts([["a", "b", "b"], ["a", "b", "c"], ["c"]])
    assert products == {"a": 2, "b": 2, "c": 2}
    assert pairs[("a", "b")] == pairs[("b", "a")] == 2
    assert pairs[("a", "c")] == 1 and ("a", "a") not in pairs


def test_a_pair_below_the_minimum_support_recommends_nothing():
    products, pairs = learning.basket_counts([["a", "b"], ["a", "b"], ["a", "c"]])
    lists = learning.bought_lists(products, pairs)
    assert lists["a"] == [["b", round(2 / 3, 4)]]  # c was bought with a once: below MIN_SUPPORT
    assert "c" not in lists


def test_popularity_lists_rank_by_orders_then_slug_per_category_and_shop_wide():
    lists = learning.popular_lists({"a": 3, "b": 5, "c": 3, "d": 0}, {"a": "x", "b": "y", "c": "x", "d": "x"})
    assert lists["x"] == [["a", 3], ["c", 3]]
    assert lists["*"] == [["b", 5], ["a", 3], ["c", 3]]


def test_similar_items_stay_in_the_category_and_prefer_shared_words():
    products = [
        {"slug": "ember-wool-beanie", "name": "Ember Wool Beanie", "category": "hats", "attributes": ["Navy"]},
        {"slug": "ember-wool-cap", "name": "Ember Wool Cap", "category": "hats", "attributes": ["Navy"]},
        {"slug": "birch-cotton-sun-hat", "name": "Birch Cotton Sun Hat", "category": "hats", "attributes": []},
        {"slug": "ember-wool-blanket", "name": "Ember Wool Blanket", "category": "textiles", "attributes": []},
    ]
    lists = learning.similar_lists(products)
    assert lists["ember-wool-beanie"][0][0] == "ember-wool-cap"
    assert all(slug != "ember-wool-blanket" for slug, _ in lists["ember-wool-beanie"])


def test_first_and_blend_rank_without_repeats_or_excluded_products():
    assert learning.first([[["a", 1], ["b", 1]], [["b", 9], ["c", 9]]], exclude=["a"], size=5) == ["b", "c"]
    assert learning.blend([[["a", 0.5], ["b", 0.25]], [["b", 0.4]]], exclude=["x"]) == ["b", "a"]


def _catalogue(count: int) -> list[dict]:
    return [{"slug": spec.slug, "name": spec.name, "description": spec.description,
             "category": spec.category_path[-1][0],
             "attributes": sorted({str(v) for variant in spec.variants for v in variant.attributes.values()})}
            for spec in sample_products(count=count, seed=1, with_images=False)]


def test_on_the_seeded_history_co_purchase_beats_popularity_by_a_clear_margin():
    catalogue = _catalogue(240)
    baskets = [basket for _, basket in sample_baskets(catalogue, orders=3000, seed=1)]
    split = len(baskets) * 9 // 10
    measures = {m.model: m for m in learning.evaluate(baskets[:split], baskets[split:], catalogue)}
    assert set(measures) == {"popularity", "popularity-in-category", "similar-items", "co-purchase"}
    co, popular = measures["co-purchase"], measures["popularity"]
    assert co.hit_rate >= popular.hit_rate + 0.15, (co, popular)
    assert co.recall > popular.recall and co.coverage > popular.coverage
    assert co.line().startswith("co-purchase: hit-rate@10=0.")


def test_the_sample_baskets_are_the_same_for_the_same_seed():
    catalogue = _catalogue(60)
    assert sample_baskets(catalogue, orders=50, seed=4) == sample_baskets(catalogue, orders=50, seed=4)
    assert sample_baskets(catalogue, orders=50, seed=4) != sample_baskets(catalogue, orders=50, seed=5)


def test_the_served_co_purchase_lists_keep_the_models_support_and_length():
    from recommendations import selectors

    assert (selectors.MIN_SUPPORT, selectors.LIST_SIZE) == (learning.MIN_SUPPORT, learning.LIST_SIZE)
