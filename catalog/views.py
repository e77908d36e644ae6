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
    if category_slug:
        params["category"] = category_slug
    notice = ""
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
    return {
        "listing": listing,
        "filters": filters,
        "notice": notice,
        "sort_choices": SORT_CHOICES,
        "query_without_page": urlencode(keep, doseq=True),
    }


def category(request, slug):
    try:
        current = selectors.category_get(slug=slug)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc

    def context():
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
