""""Customers also bought" and "Similar items" on a product's page, "You might also like" on the cart page: composed
here, from above, so that neither the catalogue nor the cart imports this app (docs/design.md). Whatever fails
(its tables, Redis, an empty recommender) leaves the section out; the page itself never fails for it."""

import logging

from django import template

from recommendations import services

register = template.Library()
logger = logging.getLogger(__name__)
ON_PAGE = 5  # one row of cards on a desktop page


@register.inclusion_tag("recommendations/_product.html")
def product_recommendations(slug: str, category: str = ""):
    try:
        sections = services.product_sections(slug=slug, category=category, limit=ON_PAGE)
    except Exception:
        logger.exception("recommendations: product page %s shown without them", slug)
        sections = {}
    return {"together": sections.get("bought_together", []), "similar": sections.get("similar", [])}


@register.inclusion_tag("recommendations/_cart.html")
def cart_recommendations(lines):
    try:
        lines = [line for line in lines or () if getattr(line, "product_slug", "")]
        names = {line.product_slug: line.name.split(" — ")[0] for line in lines}
        recommended = services.cart_recommendations(product_slugs=[line.product_slug for line in lines],
                                                    names=names, limit=ON_PAGE)
    except Exception:
        logger.exception("recommendations: cart page shown without them")
        recommended = []
    return {"recommended": recommended}
