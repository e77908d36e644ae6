"""Staff roles with least privilege: the three shipped groups (Support, Fulfilment, Manager) against every admin
action that moves money or stock. Each actor is a staff user in one shipped group (never a superuser) with a
Client of its own; a refused action is absent from the dropdown or answers 403, and changes nothing."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from catalog.models import Category, Product
from inventory import services as inventory_services
from inventory.models import FlashSale, Reservation, StockLevel
from orders.models import Order
from payments.models import Payment
from store.core import outbox
from store.core.models import OutboxMessage
from tests.conftest import staff_role
from tests.factories import make_product
from tests.orders.helpers import body, cart_with, checkout

pytestmark = pytest.mark.django_db
ROLES = ["Support", "Fulfilment", "Manager"]


def role(name: str) -> Group:
    return staff_role(name)


@pytest.fixture
def actor(staff_login):
    """A logged-in Client of its own for a staff user in one shipped group (tests/conftest.py)."""
    return lambda group: staff_login(f"staff-{(group or 'none').lower()}", group)


def paid_order() -> Order:
    token, _ = cart_with(1, stock=5, price="40.00")
    response = checkout(Client(), body(token))
    assert response.status_code == 201, response.content
    return Order.objects.get(number=response.json()["number"])


def offered(client: Client, changelist: str, action: str) -> bool:
    page = client.get(changelist)
    assert page.status_code == 200
    return f'<option value="{action}"' in page.content.decode()


# ---------------------------------------------------------------- the actions: each offers its button or page only
# to a role that may use it, tries it, and says whether anything changed
def cancel_an_order(client, allowed):
    order = paid_order()
    assert offered(client, "/admin/orders/order/", "cancel") == allowed
    client.post("/admin/orders/order/", {"action": "cancel", "_selected_action": [order.pk]})
    order.refresh_from_db()
    return order.status != "paid"


def refund_in_full_with_restock(client, allowed):
    order = paid_order()
    assert offered(client, "/admin/orders/order/", "refund_in_full_with_restock") == allowed
    client.post("/admin/orders/order/", {"action": "refund_in_full_with_restock", "_selected_action": [order.pk]})
    order.refresh_from_db()
    return order.status != "paid"


def refund_on_the_refund_page(client, allowed):
    order = paid_order()
    url = f"/admin/orders/order/{order.pk}/refund/"
    assert client.get(url).status_code == (200 if allowed else 403)
    response = client.post(url, {"amount": "5.00", "reason": "scuffed", "key": "role-refund"})
    assert response.status_code == (302 if allowed else 403)
    return Payment.objects.get(order_reference=order.number).refunded_amount == Decimal("5.00")


def mark_shipped(client, allowed):
    order = paid_order()
    assert offered(client, "/admin/orders/order/", "mark_shipped") == allowed
    client.post("/admin/orders/order/", {"action": "mark_shipped", "_selected_action": [order.pk]})
    order.refresh_from_db()
    return order.status == "fulfilled"


def release_a_reservation(client, allowed):
    inventory_services.stock_levels_ensure(initial_on_hand={"ROLE-1": 5})
    inventory_services.stock_reserve(reference="R-ROLE", lines={"ROLE-1": 2})
    assert offered(client, "/admin/inventory/reservation/", "release_selected") == allowed
    ids = list(Reservation.objects.values_list("pk", flat=True))
    client.post("/admin/inventory/reservation/", {"action": "release_selected", "_selected_action": ids})
    return inventory_services.stock_levels(sku="ROLE-1").reserved == 0


def receive_stock(client, allowed):
    inventory_services.stock_levels_ensure(initial_on_hand={"ROLE-1": 5})
    level = StockLevel.objects.get(sku="ROLE-1")
    url = f"/admin/inventory/stocklevel/{level.pk}/adjust/"
    assert client.get(url).status_code == (200 if allowed else 403)
    assert ("Receive / adjust" in client.get(f"/admin/inventory/stocklevel/{level.pk}/change/").content.decode()
            ) == allowed
    client.post(url, {"action": "receive", "quantity": "7", "reason": "delivery 42"})
    return inventory_services.stock_levels(sku="ROLE-1").on_hand == 12


def write_off_stock(client, allowed):
    inventory_services.stock_levels_ensure(initial_on_hand={"ROLE-1": 5})
    level = StockLevel.objects.get(sku="ROLE-1")
    client.post(f"/admin/inventory/stocklevel/{level.pk}/adjust/",
                {"action": "write_off", "quantity": "2", "reason": "broken"})
    return inventory_services.stock_levels(sku="ROLE-1").on_hand == 3


def hide_a_product(client, allowed):
    product = Product.objects.get(slug=make_product().slug)
    assert offered(client, "/admin/catalog/product/", "make_inactive") == allowed
    client.post("/admin/catalog/product/", {"action": "make_inactive", "_selected_action": [product.pk]})
    product.refresh_from_db()
    return not product.is_active


def show_a_product(client, allowed):
    product = Product.objects.get(slug=make_product().slug)
    Product.objects.filter(pk=product.pk).update(is_active=False)
    assert offered(client, "/admin/catalog/product/", "make_active") == allowed
    client.post("/admin/catalog/product/", {"action": "make_active", "_selected_action": [product.pk]})
    product.refresh_from_db()
    return product.is_active


def start_a_flash_sale(client, allowed):
    inventory_services.stock_levels_ensure(initial_on_hand={"HOT-1": 4})
    assert client.get("/admin/inventory/flashsale/add/").status_code == (200 if allowed else 403)
    client.post("/admin/inventory/flashsale/add/",
                {"sku": "HOT-1", "starts_at_0": "2026-01-01", "starts_at_1": "00:00:00", "active": "on"})
    return FlashSale.objects.filter(sku="HOT-1", active=True).exists()


def stop_a_flash_sale(client, allowed):
    inventory_services.stock_levels_ensure(initial_on_hand={"HOT-1": 4})
    inventory_services.flash_sale_start(sku="HOT-1")
    sale = FlashSale.objects.get(sku="HOT-1")
    client.post(f"/admin/inventory/flashsale/{sale.pk}/change/",
                {"sku": "HOT-1", "starts_at_0": "2026-01-01", "starts_at_1": "00:00:00"})
    return not FlashSale.objects.get(sku="HOT-1").active


@dataclass(frozen=True)
class Action:
    act: Callable[[Client, bool], bool]  # (a staff client, whether its role may) -> did anything change
    roles: frozenset[str]  # the shipped roles that may do it


FULFILMENT_UP = frozenset({"Fulfilment", "Manager"})
MANAGER_ONLY = frozenset({"Manager"})
ACTIONS = [
    Action(cancel_an_order, MANAGER_ONLY),
    Action(refund_in_full_with_restock, MANAGER_ONLY),
    Action(refund_on_the_refund_page, MANAGER_ONLY),
    Action(mark_shipped, FULFILMENT_UP),
    Action(release_a_reservation, FULFILMENT_UP),
    Action(receive_stock, FULFILMENT_UP),
    Action(write_off_stock, FULFILMENT_UP),
    Action(hide_a_product, MANAGER_ONLY),
    Action(show_a_product, MANAGER_ONLY),
    Action(start_a_flash_sale, MANAGER_ONLY),
    Action(stop_a_flash_sale, MANAGER_ONLY),
]
@pytest.mark.parametrize("group", ROLES)
@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.act.__name__)
def test_each_role_may_do_exactly_the_actions_it_is_given(actor, group, action):
    allowed = group in action.roles
    assert action.act(actor(group), allowed) == allowed


def test_the_shipped_roles_hold_each_other_in_turn():
    def perms(name):
        return {f"{p.content_type.app_label}.{p.codename}" for p in role(name).permissions.all()}

    support, fulfilment, manager = perms("Support"), perms("Fulfilment"), perms("Manager")
    moderation = {"reviews.approve_review", "reviews.hide_review"}  # reading reviews is support's work
    assert moderation <= support
    assert all(p.split(".")[1].startswith("view_") for p in support - moderation)
    assert {"orders.view_order", "payments.view_payment", "inventory.view_stocklevel",
            "catalog.view_product"} <= support
    assert {"returns.view_return", "returns.view_returnline"} <= support
    assert fulfilment - support == {"orders.ship_order", "inventory.adjust_stock", "inventory.release_reservation",
                                    "returns.receive_return"}
    selling = {f"{app}.{verb}_{model}" for app, model in (("shipping", "shippingmethod"), ("shipping", "shippingband"),
                                                          ("shipping", "taxrate"), ("orders", "promocode"))
               for verb in ("add", "change", "delete")}  # how the shop sells: methods, rates, codes
    assert manager - fulfilment == {"orders.cancel_order", "orders.refund_order", "catalog.activate_product",
                                    "inventory.run_flash_sale", "returns.approve_return", "returns.refund_return",
                                    "reviews.delete_review", *selling}
    assert support < fulfilment < manager


@pytest.mark.parametrize("path", [
    "/admin/orders/order/", "/admin/payments/payment/", "/admin/inventory/stocklevel/",
    "/admin/inventory/reservation/", "/admin/inventory/stockmovement/", "/admin/inventory/flashsale/",
    "/admin/catalog/product/", "/admin/returns/return/",
])
def test_support_opens_every_staff_list_with_nothing_to_act_on(actor, path):
    make_product()
    page = actor("Support").get(path)
    assert page.status_code == 200
    assert not re.search(r'<option value="(?!delete_selected|")[a-z_]+"', page.content.decode())


def test_support_sees_an_order_read_only_with_no_save_button_and_no_refund_link(actor):
    order = paid_order()
    product = Product.objects.get()
    client = actor("Support")
    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert order.number in page and 'name="_save"' not in page and "Refund (full or partial)" not in page
    product_page = client.get(f"/admin/catalog/product/{product.pk}/change/")
    assert product_page.status_code == 200 and 'name="_save"' not in product_page.content.decode()
    level = StockLevel.objects.get()
    stock_page = client.get(f"/admin/inventory/stocklevel/{level.pk}/change/").content.decode()
    assert 'name="_save"' not in stock_page and "Receive / adjust" not in stock_page


def test_a_manager_sees_the_refund_link_on_the_order(actor):
    order = paid_order()
    page = actor("Manager").get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "Refund (full or partial)" in page


def test_staff_with_the_orders_view_permission_read_any_order_on_the_page_and_api(actor):
    number = paid_order().number
    client = actor("Support")
    assert client.get(f"/orders/{number}/").status_code == 200
    assert client.get(f"/api/v1/orders/{number}/").json()["number"] == number


def test_staff_without_the_orders_view_permission_get_404_on_the_page_and_api(actor):
    number = paid_order().number
    client = actor(None)
    assert client.get(f"/orders/{number}/").status_code == 404
    assert client.get(f"/api/v1/orders/{number}/").status_code == 404


def test_releasing_a_reservation_from_the_admin_settles_its_unpaid_order(actor, monkeypatch):
    from payments.gateways import TestGateway

    def no_answer(self, **kwargs):
        raise TimeoutError("no answer from the gateway")

    monkeypatch.setattr(TestGateway, "charge", no_answer)
    token, sku = cart_with(1, stock=3)
    number = checkout(Client(), body(token)).json()["number"]
    OutboxMessage.objects.all().delete()  # only the release may settle it: as if the process died after the order
    assert Order.objects.get(number=number).status == "pending_payment"
    ids = list(Reservation.objects.filter(reference=number).values_list("pk", flat=True))
    actor("Fulfilment").post("/admin/inventory/reservation/", {"action": "release_selected", "_selected_action": ids})
    assert inventory_services.stock_levels(sku=sku).reserved == 0
    assert OutboxMessage.objects.filter(topic="reservation.expired", payload__reference=number).exists()
    outbox.relay_pending()
    assert Order.objects.get(number=number).status == "cancelled"
    assert Payment.objects.get(order_reference=number).state == "failed"
    assert inventory_services.stock_invariant_violations() == []


def test_a_product_added_by_someone_who_may_not_show_products_starts_hidden(django_user_model):
    user = django_user_model.objects.create_user("editor", is_staff=True, password="pw-for-tests-only")
    user.user_permissions.add(Permission.objects.get(codename="add_product"),
                              Permission.objects.get(codename="add_variant"),
                              Permission.objects.get(codename="view_product"))
    client = Client()
    client.force_login(user)
    category = Category.objects.create(name="Packs", slug="packs")
    response = client.post("/admin/catalog/product/add/", {
        "name": "Summit Pack", "slug": "summit-pack", "description": "Big.", "category": category.pk,
        "is_active": "on",
        "variants-TOTAL_FORMS": "0", "variants-INITIAL_FORMS": "0",
        "images-TOTAL_FORMS": "0", "images-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Product.objects.get(slug="summit-pack").is_active is False


def test_someone_who_may_edit_but_not_show_products_cannot_hide_one_from_its_form(django_user_model):
    product = Product.objects.get(slug=make_product().slug)
    user = django_user_model.objects.create_user("editor", is_staff=True, password="pw-for-tests-only")
    user.user_permissions.add(Permission.objects.get(codename="change_product"))
    client = Client()
    client.force_login(user)
    response = client.post(f"/admin/catalog/product/{product.pk}/change/", {
        "name": "Renamed", "slug": product.slug, "description": "Big.", "category": product.category_id})
    assert response.status_code == 302, response.content.decode()[:2000]
    product.refresh_from_db()
    assert (product.name, product.is_active) == ("Renamed", True)
