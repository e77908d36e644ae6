"""Storefront pages of the catalogue: home, category listing, product page, search.

Home, listings and product pages are whole-page cached (store.core.pagecache) under the catalogue's cache
generations; search results are rendered per request from cached data.
"""

import hashlib
from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import render

from store.core.exceptions import ApplicationError, InvalidInput
from store.core.pagecache import cached_page

from . import selectors, services
from .types import ProductFilters

SORT_CHOICES = [("", "Featured"), ("price", "Price: low to high"), ("-price", "Price: high to low"),
                ("name", "Name"), ("newest", "Newest")]


def _query_fingerprint(request) -> str:
    return hashlib.blake2b(urlencode(sorted(request.GET.lists()), doseq=True).encode(), digest_size=12).hexdigest()


def home(request):
    def context():
        return {**selectors.product_home(),
                "categories": [c for c in selectors.category_counts() if c["parent"] is None]}

    return cached_page(request, key="home", scopes=selectors.listing_scopes(),
                       template="catalog/home.html", context=context)


def _listing_context(request, *, category_slug: str = "") -> dict:
    params = request.GET.copy()
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
        filters = ProductFilters(category=category_slug, q=" ".join((params.get("q") or "").split())[:200])
    try:
        listing = selectors.product_list(filters=filters, page=request.GET.get("page") or 1)
    except ApplicationError as exc:
        if exc.code == "invalid_page":
            raise Http404(exc.message) from exc
        raise
    keep = request.GET.copy()
    keep.pop("page", None)
    if not category_slug and "category" not in params:
        keep.pop("category", None)  # an unknown one, dropped above
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
    def context():  # only when the page is not cached yet: an unknown category is never cached, a deleted one
        try:        # changes the CATEGORIES version the page depends on
            current = selectors.category_get(slug=slug)
        except ApplicationError as exc:
            raise Http404(exc.message) from exc
        return {
            **_listing_context(request, category_slug=slug),
            "category": current,
            "breadcrumbs": selectors.category_breadcrumbs(slug=slug),
            "subcategories": [c for c in selectors.category_tree() if c["parent"] == slug],
        }

    return cached_page(request, key=f"category:{slug}:{_query_fingerprint(request)}",
                       scopes=selectors.listing_scopes(slug), template="catalog/category.html", context=context)


def search(request):
    q = (request.GET.get("q") or "")[:200]
    return render(request, "catalog/search.html", {**_listing_context(request), "q": q})


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
