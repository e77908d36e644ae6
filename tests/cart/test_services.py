from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_redis import get_redis_connection

from cart import redis_store, services
from cart.types import CartFull, CartNotFound, InsufficientStock, InvalidQuantity, UnknownSku
from catalog import services as catalog_services
from catalog.models import Product, Variant
from inventory import services as inventory_services
from tests.factories import make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    return make_product(name="Trail Mug", prices=["12.00", "15.00"], stock=[5, 1])


@pytest.fixture
def token():
    return services.cart_create().token


def test_lines_add_up_and_totals_come_from_the_catalogue(product, token):
    a, b = (v.sku for v in product.variants)
    services.cart_add(token=token, sku=a, quantity=2)
    change = services.cart_add(token=token, sku=a, quantity=1)
    assert not change.created_line and (change.line.sku, change.line.quantity) == (a, 3)
    services.cart_add(token=token, sku=b, quantity=1)
    cart = services.cart_get(token=token)
    assert [(line.sku, line.quantity, line.line_total) for line in cart.lines] == [
        (a, 3, Decimal("36.00")), (b, 1, Decimal("15.00"))]
    assert cart.subtotal == Decimal("51.00")


def test_a_cart_never_keeps_a_price_it_would_charge(product, token, on_commit):
    sku = product.variants[0].sku
    services.cart_add(token=token, sku=sku, quantity=1)
    with on_commit():  # as staff change a price: then the catalogue refreshes what it derived and cached
        Variant.objects.filter(sku=sku).update(price=Decimal("9.50"))
        catalog_services.product_refresh(product_ids=[Product.objects.get(slug=product.slug).pk])
    cart = services.cart_get(token=token)
    assert cart.subtotal == Decimal("9.50")
    assert cart.lines[0].price_when_added == Decimal("12.00")
    assert "dropped from 12.00 to 9.50" in cart.notices[0]
    services.cart_set_quantity(token=token, sku=sku, quantity=2)  # touching the line acknowledges the price
    assert services.cart_get(token=token).notices == ()


def test_cannot_add_more_than_is_available(product, token):
    sku = product.variants[1].sku  # 1 in stock
    services.cart_add(token=token, sku=sku, quantity=1)
    with pytest.raises(InsufficientStock) as err:
        services.cart_add(token=token, sku=sku, quantity=1)
    assert err.value.extra == {"sku": sku, "available": 1}
    assert services.cart_get(token=token).lines[0].quantity == 1


@pytest.mark.parametrize("quantity", [0, -1, 100, 10**9, "abc", 1.5, True, None])
def test_quantities_outside_1_to_99_are_refused(product, token, quantity):
    with pytest.raises(InvalidQuantity):
        services.cart_add(token=token, sku=product.variants[0].sku, quantity=quantity)


def test_a_line_stops_at_99(token):
    spec = make_product(stock=500)
    sku = spec.variants[0].sku
    services.cart_add(token=token, sku=sku, quantity=98)
    with pytest.raises(InvalidQuantity):
        services.cart_add(token=token, sku=sku, quantity=2)


def test_a_cart_holds_at_most_100_lines(token):
    skus = [variant.sku for variant in make_product(stock=[2] * 101).variants]
    for sku in skus[:100]:
        services.cart_add(token=token, sku=sku, quantity=1)
    with pytest.raises(CartFull):
        services.cart_add(token=token, sku=skus[100], quantity=1)
    assert sorted(line.sku for line in services.cart_get(token=token).lines) == sorted(skus[:100])
    assert services.cart_add(token=token, sku=skus[0], quantity=1).cart.lines  # a line already there still grows
    services.cart_remove(token=token, sku=skus[0])
    assert services.cart_add(token=token, sku=skus[100], quantity=1).created_line  # room again: the 100th line


def hide(product, on_commit):
    with on_commit():
        Product.objects.filter(slug=product.slug).update(is_active=False)
        catalog_services.product_refresh(product_ids=[Product.objects.get(slug=product.slug).pk])


def test_unknown_and_hidden_products_are_refused(product, token, on_commit):
    with pytest.raises(UnknownSku):
        services.cart_add(token=token, sku="NO-SUCH-SKU", quantity=1)
    hide(product, on_commit)
    with pytest.raises(UnknownSku):
        services.cart_add(token=token, sku=product.variants[0].sku, quantity=1)


def test_a_line_whose_product_was_withdrawn_is_shown_but_not_charged(product, token, on_commit):
    services.cart_add(token=token, sku=product.variants[0].sku, quantity=1)
    hide(product, on_commit)
    cart = services.cart_get(token=token)
    assert cart.lines[0].unit_price is None and cart.subtotal == 0
    assert "no longer sold" in cart.notices[0]
    services.cart_remove(token=token, sku=product.variants[0].sku)
    assert services.cart_get(token=token).lines == ()


def test_quantity_zero_removes_the_line(product, token):
    services.cart_add(token=token, sku=product.variants[0].sku, quantity=2)
    services.cart_set_quantity(token=token, sku=product.variants[0].sku, quantity=0)
    assert services.cart_get(token=token).lines == ()
    assert services.cart_line_count(token=token) == 0


def test_unknown_tokens_and_other_shoppers_carts_are_not_found(product, django_user_model):
    with pytest.raises(CartNotFound):
        services.cart_get(token="nope")
    owner = django_user_model.objects.create_user("owner")
    other = django_user_model.objects.create_user("other")
    token = services.cart_create(user_id=owner.pk).token
    with pytest.raises(CartNotFound):
        services.cart_get(token=token, user_id=other.pk)
    with pytest.raises(CartNotFound):
        services.cart_add(token=token, sku=product.variants[0].sku, quantity=1)  # not signed in
    assert services.cart_get(token=token, user_id=owner.pk).owner_id == owner.pk


def test_the_badge_counts_lines_and_clearing_keeps_the_cart(product, django_user_model):
    user = django_user_model.objects.create_user("shopper")
    token = services.cart_create(user_id=user.pk).token
    for variant in product.variants:
        services.cart_add(token=token, sku=variant.sku, quantity=1, user_id=user.pk)
    assert services.cart_line_count(token=token) == 2
    services.cart_clear(token=token)
    assert services.cart_line_count(token=token) == 0
    cart = services.cart_get(token=token, user_id=user.pk)  # still theirs, empty, and usable
    assert cart.lines == () and cart.owner_id == user.pk
    assert services.cart_add(token=token, sku=product.variants[0].sku, quantity=1, user_id=user.pk).created_line


def test_a_token_naming_another_kind_of_key_is_just_not_found(product, django_user_model):
    user = django_user_model.objects.create_user("shopper")
    services.cart_create(user_id=user.pk)  # cart:user:<id> exists, and so does the SKU's copy once added to
    services.cart_add(token=services.cart_create().token, sku=product.variants[0].sku, quantity=1)
    for token in (f"user:{user.pk}", f"sku:{product.variants[0].sku}", "x:y"):
        with pytest.raises(CartNotFound):
            services.cart_get(token=token)
        with pytest.raises(CartNotFound):
            services.cart_add(token=token, sku=product.variants[0].sku, quantity=1)
        assert services.cart_line_count(token=token) == 0


def test_guest_carts_expire_after_7_days_and_shoppers_after_30_refreshed_on_touch(product, django_user_model):
    redis = get_redis_connection("default")
    guest = services.cart_create().token
    services.cart_add(token=guest, sku=product.variants[0].sku, quantity=1)
    assert 7 * 86400 - 3600 < redis.ttl(redis_store.cart_key(guest)) <= 7 * 86400  # (an hour's slack: no timing)
    redis.expire(redis_store.cart_key(guest), 100)
    services.cart_get(token=guest)
    assert 7 * 86400 - 3600 < redis.ttl(redis_store.cart_key(guest)) <= 7 * 86400  # refreshed from 100 s
    user = django_user_model.objects.create_user("shopper")
    owned = services.cart_create(user_id=user.pk).token
    assert 29 * 86400 < redis.ttl(redis_store.cart_key(owned)) <= 30 * 86400


def test_a_saved_cart_and_the_accounts_pointer_to_it_are_refreshed_together(product, django_user_model):
    redis = get_redis_connection("default")
    user = django_user_model.objects.create_user("shopper")
    old = services.cart_create(user_id=user.pk).token
    token = services.cart_create(user_id=user.pk).token  # the account now points to this one
    pointer = f"cart:user:{user.pk}"
    for touch in (lambda: services.cart_get(token=token, user_id=user.pk),
                  lambda: services.cart_add(token=token, sku=product.variants[0].sku, quantity=1, user_id=user.pk)):
        redis.expire(pointer, 100)
        touch()
        assert redis.ttl(pointer) > 29 * 86400 and redis.ttl(redis_store.cart_key(token)) > 29 * 86400
    redis.expire(pointer, 100)
    services.cart_get(token=old, user_id=user.pk)  # their older cart: the pointer names the newer one
    assert redis.ttl(pointer) <= 100 and services.cart_for_user(user_id=user.pk) == token


def test_merge_on_login_adds_quantities_capped_by_availability(product, django_user_model):
    a, b = (v.sku for v in product.variants)  # a: 5 in stock, b: 1
    user = django_user_model.objects.create_user("shopper")
    mine = services.cart_create(user_id=user.pk).token
    services.cart_add(token=mine, sku=a, quantity=4, user_id=user.pk)
    services.cart_add(token=mine, sku=b, quantity=1, user_id=user.pk)
    guest = services.cart_create().token
    services.cart_add(token=guest, sku=a, quantity=3)
    services.cart_add(token=guest, sku=b, quantity=1)
    token, messages = services.cart_merge_on_login(guest_token=guest, user_id=user.pk)
    assert token == mine
    assert {line.sku: line.quantity for line in services.cart_get(token=mine, user_id=user.pk).lines} == {a: 5, b: 1}
    assert messages[0] == "We added 1 item from your earlier visit to your cart."
    assert any("only 1 of your 3" in m for m in messages)
    with pytest.raises(CartNotFound):
        services.cart_get(token=guest)  # the guest cart is gone


def test_merge_adopts_the_guest_cart_when_the_shopper_has_none(product, django_user_model):
    user = django_user_model.objects.create_user("shopper")
    guest = services.cart_create().token
    services.cart_add(token=guest, sku=product.variants[0].sku, quantity=2)
    token, messages = services.cart_merge_on_login(guest_token=guest, user_id=user.pk)
    assert token == guest and messages == []
    assert services.cart_for_user(user_id=user.pk) == guest
    assert services.cart_get(token=guest, user_id=user.pk).owner_id == user.pk
    with pytest.raises(CartNotFound):
        services.cart_get(token=guest)  # now theirs alone


def test_availability_shown_in_the_cart_follows_inventory(product, token, on_commit):
    sku = product.variants[0].sku
    services.cart_add(token=token, sku=sku, quantity=4)
    with on_commit():  # another shopper's reservation, committed
        inventory_services.stock_reserve(reference="someone-else", lines={sku: 3})
    cart = services.cart_get(token=token)
    assert cart.lines[0].available == 2 and not cart.lines[0].purchasable
    assert any("Only 2 of" in n for n in cart.notices)


def test_an_add_with_cached_prices_and_availability_runs_no_sql_and_any_change_is_seen(product, token, on_commit):
    sku = product.variants[0].sku
    services.cart_add(token=token, sku=sku, quantity=1)  # the catalogue and inventory cache what it asked them
    with CaptureQueriesContext(connection) as queries:
        cart = services.cart_add(token=token, sku=sku, quantity=1).cart
        assert services.cart_get(token=token).lines == cart.lines
    assert queries.captured_queries == [] and cart.lines[0].quantity == 2
    # Another shopper's reservation: once it commits, inventory's cached availability is stale.
    with on_commit():
        inventory_services.stock_reserve(reference="elsewhere", lines={sku: 4})
    with pytest.raises(InsufficientStock) as refused:
        services.cart_add(token=token, sku=sku, quantity=2)
    assert refused.value.extra["available"] == 1
    # A staff edit of the price, once committed: the next read of the cart shows it, with the notice.
    with on_commit():
        Variant.objects.filter(sku=sku).update(price=Decimal("30.00"))
        catalog_services.product_refresh(product_ids=list(Product.objects.values_list("id", flat=True)))
    shown = services.cart_get(token=token)
    assert shown.lines[0].unit_price == Decimal("30.00") and shown.lines[0].price_changed


def test_checkout_reads_availability_from_the_stock_rows(product, token):
    sku = product.variants[0].sku
    services.cart_add(token=token, sku=sku, quantity=2)
    with CaptureQueriesContext(connection) as queries:
        assert services.cart_get(token=token, fresh=True).lines[0].available == 5
    assert queries.captured_queries  # not inventory's cache: the cart is never trusted at checkout


def test_the_cart_keeps_nothing_of_the_catalogue_or_inventory(product, token):
    services.cart_add(token=token, sku=product.variants[0].sku, quantity=1)
    redis = get_redis_connection("default")
    assert {key.decode() for key in redis.scan_iter("cart:*")} == {redis_store.cart_key(token)}
    line = f"l:{product.variants[0].sku}".encode()
    assert set(redis.hkeys(redis_store.cart_key(token))) == {b"owner", b"created", line}


def test_an_unknown_sku_added_to_a_cart_with_lines_is_refused_as_unknown(product, token):
    services.cart_add(token=token, sku=product.variants[0].sku, quantity=1)
    with pytest.raises(UnknownSku):
        services.cart_add(token=token, sku="NO-SUCH-SKU", quantity=1)
    with pytest.raises(CartNotFound):
        services.cart_add(token="no-such-cart", sku="NO-SUCH-SKU", quantity=1)
    assert services.cart_set_quantity(token=token, sku="NO-SUCH-SKU", quantity=0).cart.lines[0].quantity == 1
