"""A product's rating and newest reviews on its page: composed here, from above, so that the catalogue never imports
this app (docs/design.md). The product page is cached whole; reviews' services rebuild it (catalog's
product_page_changed) whenever a published review changes what this shows."""

from django import template

from reviews import selectors, services

register = template.Library()
ON_PAGE = 5


@register.inclusion_tag("reviews/_product_reviews.html")
def product_reviews(slug: str):
    summary = services.rating_summary(product_slug=slug)
    reviews = selectors.published_reviews(product_slug=slug, sort="newest", per_page=ON_PAGE)
    most = max(summary.distribution.values()) if summary.count else 0
    bars = [{"stars": n, "count": summary.distribution[n],
             "percent": round(100 * summary.distribution[n] / summary.count) if summary.count else 0,
             "width": round(100 * summary.distribution[n] / most) if most else 0} for n in range(5, 0, -1)]
    return {"slug": slug, "summary": summary, "average": summary.average, "bars": bars, "reviews": reviews,
            "more": summary.count > len(reviews)}


@register.filter
def stars(rating) -> str:
    """★★★★☆ for 4 (and for an average of 4.26); as text, read out by screen readers with its label."""
    try:
        full = max(0, min(5, round(float(rating))))
    except (TypeError, ValueError):
        return ""
    return "★" * full + "☆" * (5 - full)
