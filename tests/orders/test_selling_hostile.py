"""The selling settings as a careless or hostile staff member, script or shopper meets them (issue 22, "Bad input"):
every value that cannot work is refused at its field with a sentence that says why — never a traceback, a
database constraint's name, or a code, method or rate that silently applies to nothing."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orders import services as order_services
from orders.management.commands.promo_code import Command as PromoCodeCommand
from orders.models import PromoCode
from tests.factories import make_product

pytestmark = pytest.mark.django_db(transaction=True)


# ---------------------------------------------------------------- manage.py promo_code
@pytest.mark.parametrize("amount", ["abc", "NaN", "1e400"])
def test_an_amount_that_is_no_number_is_a_usage_error_not_a_traceback(capsys, amount):
    """From the command line a bad --percent printed a CommandError's traceback (it was raised inside argparse's
    type conversion, where only ArgumentTypeError is turned into a usage message)."""
    with pytest.raises(SystemExit) as exited:
        PromoCodeCommand().run_from_argv(["manage.py", "promo_code", "create", "SPRING", "--percent", amount])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "is not an amount such as 10 or 12.50" in err and "Traceback" not in err
    assert not PromoCode.objects.exists()


def test_the_command_refuses_a_product_or_category_the_catalogue_does_not_have():
    """The admin refuses such a slug; the command made a code that applied to nothing in any cart."""
    spec = make_product(name="Summit Pack", price="50.00", stock=3)
    with pytest.raises(CommandError, match="summit-pak"):
        call_command("promo_code", "create", "PACK", "--percent", "10", "--product", "summit-pak", stdout=StringIO())
    with pytest.raises(CommandError, match="no-such-category"):
        call_command("promo_code", "create", "GEAR", "--percent", "10", "--category", "no-such-category",
                     stdout=StringIO())
    assert not PromoCode.objects.exists()
    call_command("promo_code", "create", "PACK", "--percent", "10", "--product", spec.slug, stdout=StringIO())
    assert PromoCode.objects.get().products == [spec.slug]


@pytest.mark.parametrize("args", [["--amount", "5.555"], ["--percent", "12.345"], ["--percent", "10",
                                                                                    "--min-subtotal", "9.999"]])
def test_an_amount_finer_than_a_cent_is_refused_not_rounded(args):
    with pytest.raises(CommandError, match="cent"):
        call_command("promo_code", "create", "FINE", *args, stdout=StringIO())
    assert not PromoCode.objects.exists()


def test_create_prints_the_code_exactly_as_show_does():
    made, shown = StringIO(), StringIO()
    call_command("promo_code", "create", "spring", "--percent", "15", "--min-subtotal", "50", stdout=made)
    call_command("promo_code", "show", "SPRING", stdout=shown)
    assert made.getvalue() == shown.getvalue()
    assert "min_subtotal=50.00" in shown.getvalue()


# ---------------------------------------------------------------- promo codes in the admin
def _add_code(admin_client, code: str, **fields):
    return admin_client.post("/admin/orders/promocode/add/", {
        "code": code, "kind": "percent", "value": "10", "min_subtotal": "0", "is_active": "on", "products": "",
        "categories": "", **fields})


def _field_error(response, field: str) -> str:
    """The text of the admin form's error list for ``field`` ('' if none)."""
    errors = response.context["adminform"].form.errors
    return " ".join(errors.get(field, []))


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"code": "SPRING SALE"}, "code", "letters, digits"),
    ({"code": "ÉTÉ!"}, "code", "letters, digits"),
    ({"value": "0"}, "value", "above 0"),
    ({"value": "150"}, "value", "at most 100"),
    ({"kind": "amount", "value": "-5"}, "value", "above 0"),
    ({"max_uses": "0"}, "max_uses", "at least 1"),
    ({"min_subtotal": "-1"}, "min_subtotal", "greater than or equal to 0"),
    ({"starts_at_0": "2027-02-01", "starts_at_1": "00:00:00", "ends_at_0": "2027-01-01", "ends_at_1": "00:00:00"},
     "ends_at", "after it starts"),
])
def test_a_code_that_cannot_work_is_refused_at_its_field(admin_client, fields, field, words):
    """These were saved (a code with a space; one that ends before it starts, so is never valid; one usable 0
    times) or refused with 'Constraint “promo_code_value_sane” is violated.' above the form."""
    response = _add_code(admin_client, fields.pop("code", "SPRING"), **fields)
    assert response.status_code == 200
    assert words in _field_error(response, field), response.context["adminform"].form.errors
    assert not PromoCode.objects.exists()


def test_a_limit_below_the_uses_already_taken_is_refused_at_its_field(admin_client):
    order_services.promo_code_create(code="SPRING", percent=Decimal("10"), uses=10)
    promo = PromoCode.objects.get()
    PromoCode.objects.filter(pk=promo.pk).update(uses=3)
    response = admin_client.post(f"/admin/orders/promocode/{promo.pk}/change/", {
        "code": "SPRING", "kind": "percent", "value": "10", "min_subtotal": "0", "is_active": "on", "products": "",
        "categories": "", "max_uses": "2"})
    assert response.status_code == 200
    assert "used 3 times" in _field_error(response, "max_uses")
    assert PromoCode.objects.get().max_uses == 10


def test_staff_saving_a_code_never_writes_back_a_stale_use_count(admin_client, monkeypatch):
    """The admin saved every column, ``uses`` too, as read when the request began: a checkout that counted a use
    meanwhile lost it (a code limited to N could then go to N+1 orders)."""
    from django.db.models import F

    from orders.forms import PromoCodeForm

    order_services.promo_code_create(code="SPRING", percent=Decimal("10"), uses=10)
    promo = PromoCode.objects.get()
    clean = PromoCodeForm.clean

    def clean_while_a_checkout_counts_a_use(form):
        PromoCode.objects.filter(pk=promo.pk).update(uses=F("uses") + 1)  # (autocommit: another transaction's)
        return clean(form)

    monkeypatch.setattr(PromoCodeForm, "clean", clean_while_a_checkout_counts_a_use)
    response = admin_client.post(f"/admin/orders/promocode/{promo.pk}/change/", {
        "code": "SPRING", "kind": "percent", "value": "15", "min_subtotal": "0", "is_active": "on", "products": "",
        "categories": "", "max_uses": "10"})
    assert response.status_code == 302
    promo.refresh_from_db()
    assert (promo.value, promo.uses) == (Decimal("15.00"), 1)


def test_a_limit_lowered_to_the_uses_as_a_checkout_takes_one_is_refused_at_its_field(admin_client, monkeypatch):
    """Staff lower a code's limit to exactly the uses it has taken (valid when the form checks it) and a checkout,
    committing on its own connection between that check and the save, takes one more: the database's
    uses_within_limit check refused the save and the admin answered 500. Now the form says so, nothing saved."""
    import threading

    from django.db import connection
    from django.db.models import F

    from orders.forms import PromoCodeForm

    order_services.promo_code_create(code="SPRING", percent=Decimal("10"), uses=10)
    promo = PromoCode.objects.get()
    PromoCode.objects.filter(pk=promo.pk).update(uses=3)
    clean, checkouts = PromoCodeForm.clean, []

    def a_checkout_takes_a_use():  # another connection, its own transaction, committed at once
        PromoCode.objects.filter(pk=promo.pk).update(uses=F("uses") + 1)
        connection.close()

    def clean_then_a_checkout_commits(form):
        data = clean(form)
        if not checkouts:  # once: the same form shown again must not take another
            checkouts.append(threading.Thread(target=a_checkout_takes_a_use))
            checkouts[0].start()
            checkouts[0].join()
        return data

    monkeypatch.setattr(PromoCodeForm, "clean", clean_then_a_checkout_commits)
    response = admin_client.post(f"/admin/orders/promocode/{promo.pk}/change/", {
        "code": "SPRING", "kind": "percent", "value": "15", "min_subtotal": "0", "is_active": "on", "products": "",
        "categories": "", "max_uses": "3"})
    assert response.status_code == 200
    error = _field_error(response, "max_uses")
    assert "used 4 times" in error and "meanwhile" in error and "Nothing was saved" in error, error
    promo.refresh_from_db()
    assert (promo.max_uses, promo.value, promo.uses) == (10, Decimal("10.00"), 4)
