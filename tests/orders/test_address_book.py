"""The address book (issue 22): a signed-in shopper adds, edits and deletes addresses, checked as a checkout checks
one; one is the default, and the checkout page starts from it (or from the one picked)."""

import pytest

from shipping import services as shipping_services
from shipping.types import SavedAddressNotFound
from store.core.exceptions import InvalidInput
from tests.factories import make_product

pytestmark = pytest.mark.django_db

PORTLAND = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Portland", "region": "Oregon",
            "postal_code": "97201", "country": "US", "phone": "503 555 0100"}
LONDON = {"name": "Ada L", "line1": "1 Analytical Way", "city": "London", "postal_code": "N1 7AA", "country": "GB"}


@pytest.fixture
def shopper(client, django_user_model):
    user = django_user_model.objects.create_user("ada", "ada@example.com", "a-long-enough-test-password-42")
    client.force_login(user)
    return user


def test_add_edit_delete_and_the_default(client, shopper):
    assert client.post("/account/addresses/", PORTLAND).status_code == 302
    assert client.post("/account/addresses/", {**LONDON, "is_default": "on"}).status_code == 302
    book = shipping_services.address_book(user_id=shopper.pk)
    assert [(a.city, a.is_default) for a in book] == [("London", True), ("Portland", False)]
    assert book[1].region == "OR"  # as the country writes it
    page = client.get("/account/addresses/").content.decode()
    assert "PORTLAND, OR 97201" in page and "Default shipping address" in page
    html = client.post("/account/addresses/", {**PORTLAND, "postal_code": "ABC"}).content.decode()
    assert "Enter a postal code of United States" in html
    assert client.post(f"/account/addresses/{book[1].id}/", {**PORTLAND, "city": "Salem",
                                                             "postal_code": "97301"}).status_code == 302
    assert client.post(f"/account/addresses/{book[0].id}/delete/").status_code == 302
    (left,) = shipping_services.address_book(user_id=shopper.pk)
    assert (left.city, left.is_default) == ("Salem", True)


def test_someone_elses_address_cannot_be_seen_changed_or_deleted(client, shopper, django_user_model):
    other = django_user_model.objects.create_user("bob", "bob@example.com", "a-long-enough-test-password-42")
    theirs = shipping_services.address_save(user_id=other.pk, fields=LONDON)
    assert client.get(f"/account/addresses/{theirs.id}/").status_code == 404
    assert client.post(f"/account/addresses/{theirs.id}/delete/").status_code == 404
    with pytest.raises(SavedAddressNotFound):
        shipping_services.address_save(user_id=shopper.pk, fields=PORTLAND, address_id=theirs.id)
    with pytest.raises(InvalidInput):
        shipping_services.address_save(user_id=shopper.pk, fields={**LONDON, "country": "ZZ"})
    assert client.get("/account/addresses/", follow=False).status_code == 200
    client.logout()
    assert client.get("/account/addresses/").status_code == 302  # to the log-in page


def test_the_checkout_page_starts_from_the_default_or_the_picked_address(client, shopper):
    shipping_services.address_save(user_id=shopper.pk, fields=LONDON)
    other = shipping_services.address_save(user_id=shopper.pk, fields=PORTLAND)
    client.post("/cart/add/", {"sku": make_product(stock=3).variants[0].sku, "quantity": "1"})
    page = client.get("/checkout/").content.decode()
    assert 'value="N1 7AA"' in page and "Manage addresses" in page
    page = client.get(f"/checkout/?address={other.id}").content.decode()
    assert 'value="97201"' in page and 'value="OR"' in page
