"""Stock screens read well (issue 23, item 2): every SKU with its product and variant (the catalogue names them),
found by product name; the ledger names the staff member; a committed reservation shows no expiry; a refused
write-off says so in a sentence; no Save button on a stock level, which changes only through Receive / adjust."""

import pytest

from inventory import services
from inventory.models import StockLevel
from tests.factories import make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def boots():
    spec = make_product(name="Trail Runner Boot", stock=[5, 3], variants=2)
    make_product(name="Camp Mug", stock=4)
    return spec


def test_stock_levels_show_and_find_skus_by_product_and_variant(support_client, boots):
    sku = boots.variants[0].sku
    html = support_client.get("/admin/inventory/stocklevel/").content.decode()
    assert "Trail Runner Boot — Option 0" in html and "Camp Mug — Option 0" in html
    html = support_client.get("/admin/inventory/stocklevel/", {"q": "runner boot"}).content.decode()
    assert "Trail Runner Boot — Option 1" in html and "Camp Mug" not in html
    level = StockLevel.objects.get(sku=sku)
    html = support_client.get(f"/admin/inventory/stocklevel/{level.pk}/change/").content.decode()
    assert "Trail Runner Boot — Option 0" in html and 'name="_save"' not in html


def test_the_ledger_names_the_staff_member_and_the_item(fulfilment_client, boots, django_user_model):
    sku = boots.variants[0].sku
    user = fulfilment_client.user
    user.first_name, user.last_name = "Grace", "Hopper"
    user.save()
    services.stock_receive(sku=sku, quantity=2, reason="delivery", user_id=user.pk)
    html = fulfilment_client.get("/admin/inventory/stockmovement/", {"q": "trail runner"}).content.decode()
    assert "Grace Hopper" in html and "Trail Runner Boot — Option 0" in html
    assert f"User id {user.pk}" not in html and "Camp Mug" not in html


def test_a_committed_reservation_shows_no_expiry(support_client, boots):
    sku = boots.variants[0].sku
    services.stock_reserve(reference="R-LIVE", lines={sku: 1})
    services.stock_reserve(reference="R-PAID", lines={sku: 1})
    services.stock_commit(reference="R-PAID")
    html = support_client.get("/admin/inventory/reservation/").content.decode()
    rows = {ref: html.split(f">{ref}<")[1].split("</tr>")[0] for ref in ("R-LIVE", "R-PAID")}
    assert 'class="field-expires">-<' not in rows["R-LIVE"] and "—" not in rows["R-LIVE"].split("field-expires")[1]
    assert 'class="field-expires">—<' in rows["R-PAID"]


def test_a_write_off_of_more_than_there_is_reads_as_a_sentence(fulfilment_client, boots):
    level = StockLevel.objects.get(sku=boots.variants[1].sku)
    response = fulfilment_client.post(f"/admin/inventory/stocklevel/{level.pk}/adjust/",
                                      {"action": "write_off", "quantity": "478", "reason": "flood"})
    html = response.content.decode()
    assert "that would leave \N{MINUS SIGN}475 on hand, there are not that many units to take away." in html
    assert "Trail Runner Boot — Option 1" in html
