"""The returns queue in the admin: each step needs its own permission (Fulfilment receives; Manager also approves,
rejects and refunds; Support only looks), and goes through the services."""

import pytest

from returns import services
from returns.models import Return
from returns.types import ReturnRequest
from tests.returns.helpers import on_hand, paid_order, refunded

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_limits(settings):
    settings.RATE_LIMITS = {}


def a_return(status="requested", quantity=2):
    number, sku, token = paid_order(quantity=quantity, stock=5, price="10.00")
    ret = services.return_request(order_number=number, token=token,
                                  request=ReturnRequest(lines={sku: quantity}, reason="other"))
    if status in ("approved", "received"):
        services.return_approve(number=ret.number)
    if status == "received":
        services.return_receive(number=ret.number)
    return Return.objects.get(number=ret.number), sku


def act(client, action, ret):
    return client.post("/admin/returns/return/", {"action": action, "_selected_action": [ret.pk]})


def offered(client, action):
    return f'<option value="{action}"' in client.get("/admin/returns/return/").content.decode()


@pytest.mark.parametrize(("role", "may"), [("Support", False), ("Fulfilment", False), ("Manager", True)])
def test_approving_and_refunding_are_the_managers(staff_login, role, may):
    client = staff_login(f"staff-{role.lower()}", role)
    ret, _ = a_return()
    assert offered(client, "approve") == may and offered(client, "refund") == may
    act(client, "approve", ret)
    ret.refresh_from_db()
    assert (ret.status == "approved") == may
    received, _ = a_return("received")
    act(client, "refund", received)
    assert (refunded(received.order_number) == 20) == may


@pytest.mark.parametrize(("role", "may"), [("Support", False), ("Fulfilment", True), ("Manager", True)])
def test_receiving_is_fulfilments_and_up(staff_login, role, may):
    client = staff_login(f"staff-{role.lower()}", role)
    ret, sku = a_return("approved")
    url = f"/admin/returns/return/{ret.pk}/receive/"
    assert client.get(url).status_code == (200 if may else 403)
    assert ("Mark received…" in client.get(f"/admin/returns/return/{ret.pk}/change/").content.decode()) == may
    response = client.post(url, {"received_0": "2", "damaged_0": "1"})
    assert response.status_code == (302 if may else 403)
    ret.refresh_from_db()
    assert (ret.status == "received") == may
    assert on_hand(sku) == (4 if may else 3)  # one unit back on the shelf, one written off


def test_a_bad_count_on_the_receive_page_is_a_form_error(manager_client):
    ret, sku = a_return("approved")
    url = f"/admin/returns/return/{ret.pk}/receive/"
    for data in ({"received_0": "3", "damaged_0": "0"}, {"received_0": "1", "damaged_0": "2"},
                 {"received_0": "x", "damaged_0": "0"}):
        response = manager_client.post(url, data)
        assert response.status_code == 200 and b"errorlist" in response.content
    ret.refresh_from_db()
    assert ret.status == "approved" and on_hand(sku) == 3


def test_rejecting_needs_a_reason_and_the_shopper_is_told(manager_client, fulfilment_client):
    ret, _ = a_return()
    url = f"/admin/returns/return/{ret.pk}/reject/"
    assert fulfilment_client.post(url, {"reason": "no"}).status_code == 403
    response = manager_client.post(url, {"reason": ""})
    assert response.status_code == 200 and b"errorlist" in response.content
    assert manager_client.post(url, {"reason": "used and worn"}).status_code == 302
    ret.refresh_from_db()
    assert ret.status == "rejected" and ret.staff_note == "used and worn"


def test_the_queue_filters_by_status(support_client):
    requested, _ = a_return()
    approved, _ = a_return("approved")
    page = support_client.get("/admin/returns/return/?status__exact=approved").content.decode()
    assert approved.number in page and requested.number not in page
