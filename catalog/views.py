"""Storefront pages of the catalogue: home, category listing, product page, search.

Home, listings and product pages are whole-page cached (store.core.pagecache) under the catalogue's cache
generations; search results are rendered per request from cached data.
"""

import dataclasses
import hashlib
from urllib.parse import urlencode

from django.http import Http404, QueryDict
from django.shortcuts import render

from store.core.exceptions import ApplicationError, InvalidInput
from store.core.pagecache import cached_page

from . import selectors, services
from .types import ProductFilters

SORT_CHOICES = [("", "Featured"), ("price", "Price: low to high"), ("-price", "Price: high to low"),
                ("name", "Name"), ("newest", "Newest"), ("rating", "Customer rating")]
PAGE_DIGITS = 18  # a longer page number is no page (404), whatever it says


def home(request):
    def context():
        return {**selectors.product_home(),
                "categories": [c for c in selectors.category_counts() if c["parent"] is None]}

    return cached_page(request, key="home", scopes=selectors.listing_scopes(),
                       template="catalog/home.html", context=context)


def _listing_filters(query, *, category_slug: str = "") -> tuple[ProductFilters, str]:
    """The filters a listing understands in ``query``, in canonical form (the search text as the search reads its
    words, the default sort as ""), and a notice when some could not be applied. Every other parameter is ignored:
    it changes neither the page nor its cache key."""
    params = query.copy()
    notice = ""
    if category_slug:
        params["category"] = category_slug
    elif params.get("category"):  # a search narrowed to a category: one that does not exist is ignored, and said
        try:
            selectors.category_get(slug=params["category"])
        except ApplicationError as exc:
            notice = f"{exc.message} Showing every category."
            params.pop("category")
    try:
        filters = services.product_filters_parse(params)
    except InvalidInput as exc:  # a bad filter in a hand-edited URL: show the plain listing and say why
        notice = exc.message
        filters = ProductFilters(category=category_slug, q=params.get("q") or "")
    return dataclasses.replace(filters, q=" ".join(selectors.search_words(filters.q)),
                               sort="" if filters.sort == "relevance" else filters.sort), notice


def _listing_query(filters: ProductFilters, *, category_slug: str = "") -> QueryDict:
    """The one query string that shows ``filters`` (without the page): parameters in a fixed order."""
    query = QueryDict(mutable=True)
    if filters.q:
        query["q"] = filters.q
    if filters.category and not category_slug:
        query["category"] = filters.category
    for name in ("min_price", "max_price"):
        if getattr(filters, name) is not None:
            query[name] = f"{getattr(filters, name) + 0:.2f}"  # + 0: -0.00 is 0.00
    if filters.in_stock:
        query["in_stock"] = "true"
    if filters.min_rating is not None:
        query["min_rating"] = f"{filters.min_rating:f}"
    if filters.exact and filters.q:
        query["exact"] = "1"
    if filters.sort:
        query["sort"] = filters.sort
    for name, value in sorted(filters.attributes.items()):
        query[f"attr_{name}"] = value
    return query


def _page(query) -> str:
    """The page number asked for, canonical ("01" is "1"); anything else as given (the listing answers 404)."""
    raw = (query.get("page") or "1").strip()
    return str(int(raw)) if raw.isdigit() and len(raw) <= PAGE_DIGITS else raw


def _listing_context(filters: ProductFilters, notice: str, page: str, *, category_slug: str = "") -> dict:
    try:
        listing = selectors.product_list(filters=filters, page=page)
    except ApplicationError as exc:
        if exc.code == "invalid_page":
            raise Http404(exc.message) from exc
        raise
    keep = _listing_query(filters, category_slug=category_slug)
    return {
        "listing": listing,
        "filters": filters,
        "notice": notice,
        "sort_choices": SORT_CHOICES if not filters.q else [("", "Best match"), *SORT_CHOICES[1:]],
        "query_without_page": urlencode(keep, doseq=True),
        "price_links": _price_links(keep, listing["facets"]["price"]),
        "category_links": _category_links(keep, listing["facets"]["categories"], searching=not category_slug),
        "all_categories_url": _with(keep, category=None) if filters.category and not category_slug else "",
        "any_price_url": _with(keep, min_price=None, max_price=None)
        if filters.min_price is not None or filters.max_price is not None else "",
        # each value adds (or swaps) its attribute and keeps every other filter; each "clear" drops only its own
        "attribute_facets": [
            {"name": facet["name"], "values": [
                {**v, "url": _with(keep, **{f"attr_{facet['name']}": v["value"]}),
                 "chosen": filters.attributes.get(facet["name"]) == v["value"]} for v in facet["values"][:12]]}
            for facet in listing["facets"]["attributes"]],
        "attribute_clear_links": [{"name": name, "value": value, "url": _with(keep, **{f"attr_{name}": None})}
                                  for name, value in sorted(filters.attributes.items())],
        # the sort / price / stock form sends what it shows; these ride along so it keeps them
        "kept_fields": [(k, v) for k, v in keep.items()
                        if k.startswith("attr_") or k == "exact" or (k == "category" and not category_slug)],
    }


def _with(params, **changes) -> str:
    """This page's query with some parameters changed (None drops one), and the page number dropped."""
    query = params.copy()
    for name, value in changes.items():
        query.pop(name, None)
        if value is not None:
            query[name] = value
    return "?" + urlencode(query, doseq=True)


def _price_links(params, buckets: list[dict]) -> list[dict]:
    """The price facet as links: "Under $25 (12)", "$25 to $50 (40)", "$500 and up (3)"; empty ranges left out."""
    links = []
    for bucket in buckets:
        if not bucket["count"]:
            continue
        low, high = float(bucket["min"]), float(bucket["max"]) if bucket["max"] else None
        label = (f"Under ${high:.0f}" if not low else f"${low:.0f} and up" if high is None
                 else f"${low:.0f} to ${high:.0f}")
        upper = f"{high - 0.01:.2f}" if high is not None else None
        links.append({"label": label, "count": bucket["count"],
                      "url": _with(params, min_price=bucket["min"] if low else None, max_price=upper)})
    return links


def _category_links(params, categories: list[dict], *, searching: bool) -> list[dict]:
    """The category facet: within a search, narrow the search to it; on a category page, go to the subcategory
    with the same filters."""
    return [{"name": c["name"], "count": c["count"],
             "url": _with(params, category=c["slug"]) if searching else f"/c/{c['slug']}/{_with(params)}"}
            for c in categories]


def category(request, slug):
    filters, notice = _listing_filters(request.GET, category_slug=slug)
    page = _page(request.GET)

    def context():  # only when the page is not cached yet: an unknown category is never cached, a deleted one
        try:        # changes the CATEGORIES version the page depends on
            current = selectors.category_get(slug=slug)
        except ApplicationError as exc:
            raise Http404(exc.message) from exc
        return {
            **_listing_context(filters, notice, page, category_slug=slug),
            "category": current,
            "breadcrumbs": selectors.category_breadcrumbs(slug=slug),
            "subcategories": [c for c in selectors.category_tree() if c["parent"] == slug],
        }

    # keyed by what the page shows, so any number of addresses showing it make one entry; a page with a notice (a
    # hand-edited bad filter) is rendered for its request only, from the cached listing
    shown = urlencode(_listing_query(filters, category_slug=slug), doseq=True) + f"&page={page}"
    key = None if notice else f"category:{slug}:{hashlib.blake2b(shown.encode(), digest_size=12).hexdigest()}"
    return cached_page(request, key=key, scopes=selectors.listing_scopes(slug), template="catalog/category.html",
                       context=context)


def search(request):
    q = (request.GET.get("q") or "")[:200]
    filters, notice = _listing_filters(request.GET)
    context = _listing_context(filters, notice, _page(request.GET))
    listing = context["listing"]
    if listing.get("corrected"):  # say what was searched for, and offer the words as typed
        context["corrected_url"] = _with(_listing_query(dataclasses.replace(filters, q=listing["corrected"])))
        context["exact_url"] = _with(_listing_query(dataclasses.replace(filters, exact=True)))
    if not listing["count"]:  # no dead end: the biggest departments to browse instead
        context["suggested_categories"] = sorted(
            (c for c in selectors.category_counts() if c["parent"] is None and c["product_count"]),
            key=lambda c: -c["product_count"])[:6]
    return render(request, "catalog/search.html", {**context, "q": q})


def product(request, slug):
    def context():
        try:
            detail = selectors.product_detail(slug=slug)
        except ApplicationError as exc:
            raise Http404(exc.message) from exc
        first = next((v for v in detail["variants"] if v["sku"] == detail["first_available_sku"]),
                     detail["variants"][0])
        return {"product": {**detail, "first_variant": first},
                "breadcrumbs": selectors.category_breadcrumbs(slug=detail["category"]["slug"])}

    return cached_page(request, key=f"product:{slug}", scopes=selectors.product_scopes(slug),
                       template="catalog/product.html", context=context)
