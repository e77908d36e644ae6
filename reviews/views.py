"""The reviews page of a product (/p/<slug>/reviews/): its rating, every published review a page at a time in the
order the shopper picks, voting "helpful", reporting, and the verified buyer's own review to write, edit or delete.
Rendered per request (it is personal: the shopper's own review and votes); the product page's cached block links
here."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from catalog.types import ProductNotFound
from store.core import ratelimit
from store.core.exceptions import ApplicationError
from store.core.ratelimit import RateLimited

from . import services
from .models import MAX_BODY, MAX_TITLE
from .types import SORTS

SORT_LABELS = {"helpful": "Most helpful", "newest": "Newest", "highest": "Highest rating", "lowest": "Lowest rating"}


def _user_id(request):
    return request.user.pk if request.user.is_authenticated else None


def _author(request) -> str:
    user = request.user
    return (user.get_short_name() or user.get_username().split("@")[0])[:60]


def _too_many_requests(request, exc: RateLimited):
    response = render(request, "429.html", {"retry_after": exc.retry_after}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


def product_reviews(request, slug):
    errors, values = {}, {}
    user_id = _user_id(request)
    if request.method == "POST":
        try:
            ratelimit.check(request, "reviews")  # writes, votes and flags, as on the API
        except RateLimited as exc:
            return _too_many_requests(request, exc)
        values = {"rating": request.POST.get("rating", ""), "title": request.POST.get("title", ""),
                  "body": request.POST.get("body", "")}
        try:
            raw = values["rating"].strip()
            rating = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 3 else raw  # "²" is a digit to isdigit
            parsed = services.review_parse({**values, "rating": rating})
            mine = services.review_of(user_id=user_id, product_slug=slug) if user_id else None
            if mine is None:
                review = services.review_create(product_slug=slug, user_id=user_id,
                                                author_name=_author(request) if user_id else "", review=parsed)
            else:
                review = services.review_update(review_id=mine.id, user_id=user_id, review=parsed)
        except ProductNotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            errors[exc.extra.get("field", "general")] = exc.message
        else:
            messages.success(request, "Thank you: your review is published." if review.status == "published" else
                             "Thank you: your review will appear once our staff have read it.")
            return redirect(f"/p/{slug}/reviews/")
    try:
        listing = services.review_list(product_slug=slug, sort=request.GET.get("sort"),
                                       page=request.GET.get("page") or 1)
    except ProductNotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError:  # a hand-edited sort or page: the first page, most helpful first
        listing = services.review_list(product_slug=slug)
    mine = services.review_of(user_id=user_id, product_slug=slug) if user_id else None
    may_write = mine is not None or (user_id is not None and services.purchase_verified(
        user_id=user_id, product_slug=slug) is not None)
    if mine and not values:
        values = {"rating": str(mine.rating), "title": mine.title, "body": mine.body}
    return render(request, "reviews/product_reviews.html", {
        "slug": slug, "listing": listing, "summary": listing["summary"], "sorts": [
            {"value": s, "label": SORT_LABELS[s], "url": "?" + urlencode({"sort": s})} for s in SORTS],
        "mine": mine, "may_write": may_write, "errors": errors, "values": values,
        "max_title": MAX_TITLE, "max_body": MAX_BODY,
        "previous_url": "?" + urlencode({"sort": listing["sort"], "page": listing["page"] - 1})
        if listing["page"] > 1 else "",
        "next_url": "?" + urlencode({"sort": listing["sort"], "page": listing["page"] + 1})
        if listing["page"] < listing["num_pages"] else "",
    })


@require_POST
def review_action(request, review_id, action):
    """Vote (helpful=yes|no), report, or delete one's own review, from the reviews page's buttons."""
    back = request.POST.get("next", "")
    if not back.startswith("/p/") or "//" in back:
        back = "/"
    user_id = _user_id(request)
    try:
        ratelimit.check(request, "reviews")
    except RateLimited as exc:
        return _too_many_requests(request, exc)
    try:
        if action == "vote":
            services.review_vote(review_id=review_id, user_id=user_id, helpful=request.POST.get("helpful") == "yes")
            messages.success(request, "Thank you for your vote.")
        elif action == "flag":
            services.review_flag(review_id=review_id, user_id=user_id, reason=request.POST.get("reason", ""))
            messages.success(request, "Thank you: our staff will look at this review.")
        elif action == "delete":
            services.review_delete(review_id=review_id, user_id=user_id)
            messages.success(request, "Your review is deleted.")
        else:
            raise Http404("No such action.")
    except ApplicationError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from exc
        messages.error(request, exc.message)
    return redirect(back)
