"""Storefront pages of the catalogue: home, category listing, product page, search."""

from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import render

from store.core.exceptions import ApplicationError, InvalidInput

from . import selectors, services
from .types import ProductFilters

SORT_CHOICES = [("", "Featured"), ("price", "Price: low to high"), ("-price", "Price: high to low"),
                ("name", "Name"), ("newest", "Newest")]


def home(request):
    shelves = selectors.product_home()
    categories = [c for c in selectors.category_counts() if c["parent"] is None]
    return render(request, "catalog/home.html", {**shelves, "categories": categories})


def _listing(request, *, category_slug: str = "", template: str, extra: dict):
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
        if exc.status == 404 and exc.code == "invalid_page":
            raise Http404(exc.message) from exc
        raise
    keep = request.GET.copy()
    keep.pop("page", None)
    return render(request, template, {
        **extra,
        "listing": listing,
        "filters": filters,
        "notice": notice,
        "sort_choices": SORT_CHOICES,
        "query_without_page": urlencode(keep),
    })


def category(request, slug):
    try:
        current = selectors.category_get(slug=slug)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    return _listing(request, category_slug=slug, template="catalog/category.html", extra={
        "category": current,
        "breadcrumbs": selectors.category_breadcrumbs(slug=slug),
        "subcategories": [c for c in selectors.category_tree() if c["parent"] == slug],
    })


def search(request):
    return _listing(request, template="catalog/search.html", extra={"q": (request.GET.get("q") or "")[:200]})


def product(request, slug):
    try:
        detail = selectors.product_detail(slug=slug)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    return render(request, "catalog/product.html", {
        "product": detail,
        "breadcrumbs": selectors.category_breadcrumbs(slug=detail["category"]["slug"]),
    })
