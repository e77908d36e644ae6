import pytest

from inventory import services
from inventory.models import StockLevel, StockMovement

pytestmark = pytest.mark.django_db


@pytest.fixture
def level():
    services.stock_levels_ensure(initial_on_hand={"ADM-1": 5})
    return StockLevel.objects.get(sku="ADM-1")


@pytest.mark.parametrize("path", ["/admin/inventory/stocklevel/?availability=reserved",
                                  "/admin/inventory/reservation/", "/admin/inventory/stockmovement/?sku=ADM-1"])
def test_inventory_admin_pages_open_for_the_least_staff_role(support_client, level, path):
    services.stock_reserve(reference="R-1", lines={"ADM-1": 1})
    page = support_client.get(path)
    assert page.status_code == 200 and "ADM-1" in page.content.decode()


def test_staff_receive_units_with_a_reason_recorded_with_their_user(fulfilment_client, level):
    page = fulfilment_client.get(f"/admin/inventory/stocklevel/{level.pk}/change/").content.decode()
    assert "Receive / adjust" in page and "Ledger (latest 20)" in page
    response = fulfilment_client.post(f"/admin/inventory/stocklevel/{level.pk}/adjust/",
                                 {"action": "receive", "quantity": "7", "reason": "delivery 42"})
    assert response.status_code == 302
    movement = StockMovement.objects.filter(sku="ADM-1").first()
    assert (movement.kind, movement.on_hand_delta, movement.reason) == ("receipt", 7, "delivery 42")
    assert movement.user_id == fulfilment_client.user.pk
    assert services.stock_levels(sku="ADM-1").on_hand == 12


def test_a_write_off_below_reserved_is_refused_on_the_form(fulfilment_client, level):
    services.stock_reserve(reference="R-1", lines={"ADM-1": 4})
    response = fulfilment_client.post(f"/admin/inventory/stocklevel/{level.pk}/adjust/",
                                 {"action": "write_off", "quantity": "3", "reason": "broken"})
    assert response.status_code == 200
    assert "that would leave 2 on hand, fewer than the 4 units held for unpaid orders" in response.content.decode()
    assert services.stock_levels(sku="ADM-1").on_hand == 5


def test_staff_can_release_a_reservation(fulfilment_client, level):
    services.stock_reserve(reference="R-9", lines={"ADM-1": 2})
    from inventory.models import Reservation

    ids = list(Reservation.objects.values_list("pk", flat=True))
    fulfilment_client.post("/admin/inventory/reservation/", {"action": "release_selected", "_selected_action": ids})
    assert services.stock_levels(sku="ADM-1").reserved == 0


def test_non_staff_cannot_adjust(client, level, django_user_model):
    user = django_user_model.objects.create_user("shopper", password="pw-for-tests-only")
    client.force_login(user)
    response = client.post(f"/admin/inventory/stocklevel/{level.pk}/adjust/",
                           {"action": "receive", "quantity": "7", "reason": "x"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert services.stock_levels(sku="ADM-1").on_hand == 5


def test_staff_start_and_stop_a_sale_and_the_gate_follows_even_a_bulk_delete(manager_client):
    from inventory import gate
    from inventory.models import FlashSale

    services.stock_levels_ensure(initial_on_hand={"HOT-1": 4, "HOT-2": 2})
    for sku in ("HOT-1", "HOT-2"):
        response = manager_client.post("/admin/inventory/flashsale/add/", {
            "sku": sku, "starts_at_0": "2026-01-01", "starts_at_1": "00:00:00", "active": "on"})
        assert response.status_code == 302, response.content
    assert (gate.tokens("HOT-1"), gate.tokens("HOT-2")) == (4, 2)
    ids = [str(pk) for pk in FlashSale.objects.values_list("pk", flat=True)]
    manager_client.post("/admin/inventory/flashsale/", {"action": "delete_selected", "_selected_action": ids,
                                                        "post": "yes"})
    assert not FlashSale.objects.exists()
    assert (gate.tokens("HOT-1"), gate.tokens("HOT-2")) == (None, None)
    assert services.gate_admit(lines={"HOT-1": 4}) == {}  # no longer gated: the stock rows decide


@pytest.mark.parametrize(("action", "quantity", "said"), [
    ("receive", "7", "Received 7 units of ADM-1. Now 12 on hand, 0 reserved, 12 available."),
    ("write_off", "1", "Wrote off 1 unit of ADM-1. Now 4 on hand, 0 reserved, 4 available."),
    ("set", "9", "Set ADM-1 to 9 on hand (counted). Now 9 on hand, 0 reserved, 9 available."),
])
def test_a_stock_change_is_confirmed_in_a_sentence(fulfilment_client, level, action, quantity, said):
    """Issue 23: 'ADM-1: on hand 12, reserved 0, available 12.' read as a formula; the message says what was done."""
    response = fulfilment_client.post(f"/admin/inventory/stocklevel/{level.pk}/adjust/",
                                      {"action": action, "quantity": quantity, "reason": "count"}, follow=True)
    assert said in response.content.decode()
