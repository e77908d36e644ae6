"""Sign-in abuse: log-in (the shop's and the admin's), sign-up and password reset are rate limited per client and
per account name or address; over a limit the answer is 429 with Retry-After, and nothing is checked or sent. The
limits' clock stands still in each test's thread (rate_clock, tests/conftest.py)."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.core import mail
from django.test import Client, TestCase

from store.core import outbox
from store.settings import parse_rate_limits

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rate_clock")]
PASSWORD = "a-long-enough-test-password-42"


class CountingBackend(ModelBackend):
    """Django's own backend, configured for these tests, counting the password checks a log-in form asks for."""

    checks: list = []

    def authenticate(self, request, username=None, password=None, **kwargs):
        self.checks.append(username)
        return super().authenticate(request, username=username, password=password, **kwargs)


@pytest.fixture
def password_checks(settings):
    """Every password check a log-in form makes (django.contrib.auth.authenticate), counted."""
    settings.AUTHENTICATION_BACKENDS = [f"{__name__}.CountingBackend"]
    CountingBackend.checks = []
    return CountingBackend.checks


def assert_too_many(response):
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert "try again in" in response.content.decode()


def test_log_in_is_limited_per_client_and_then_checks_no_password(settings, django_user_model, password_checks):
    settings.RATE_LIMITS = parse_rate_limits("login=3/m,login_account=100/m")  # (RATE_LIMITS could not say so)
    django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    client = Client(REMOTE_ADDR="10.3.0.1")
    answers = [client.post("/account/login/", {"username": f"guess{n}", "password": "nope"}) for n in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert len(password_checks) == 3
    assert_too_many(client.post("/account/login/", {"username": "ada", "password": PASSWORD}))
    assert len(password_checks) == 3 and "_auth_user_id" not in client.session  # not even the right password
    other = Client(REMOTE_ADDR="10.3.0.2")
    assert other.post("/account/login/", {"username": "ada", "password": PASSWORD}).status_code == 302


def test_log_in_is_limited_per_account_name_across_client_addresses(settings, django_user_model, password_checks):
    settings.RATE_LIMITS = {"login": "100/m", "login_account": "2/m"}
    django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    tries = [Client(REMOTE_ADDR=f"10.4.0.{n}").post("/account/login/", {"username": name, "password": "nope"})
             for n, name in enumerate(["ada", "ADA "])]  # the same name, however it is written
    assert [t.status_code for t in tries] == [200, 200]
    assert_too_many(Client(REMOTE_ADDR="10.4.0.9").post("/account/login/", {"username": "Ada", "password": PASSWORD}))
    assert len(password_checks) == 2
    grace = Client(REMOTE_ADDR="10.4.0.9").post("/account/login/", {"username": "grace", "password": "nope"})
    assert grace.status_code == 200  # another account name is not limited by ada's


def test_log_in_counts_the_name_as_the_form_reads_it_so_compatibility_forms_are_the_same_account(
        settings, django_user_model, password_checks):
    """Django's log-in form reads the name NFKC-normalised (UsernameField): "\uff41\uff44\uff41" (full-width) and
    "\U0001d41a\U0001d41d\U0001d41a" (mathematical bold) sign in as "ada". Counted as written, every such spelling
    was an account of its own, so one account's password could be guessed thousands of times a minute."""
    settings.RATE_LIMITS = {"login": "100/m", "login_account": "2/m"}
    django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    tries = [Client(REMOTE_ADDR=f"10.4.1.{n}").post("/account/login/", {"username": name, "password": "nope"})
             for n, name in enumerate(["ada", "\uff41\uff44\uff41"])]
    assert [t.status_code for t in tries] == [200, 200]
    assert_too_many(Client(REMOTE_ADDR="10.4.1.9").post(
        "/account/login/", {"username": "\U0001d41a\U0001d41d\U0001d41a", "password": PASSWORD}))
    assert password_checks == ["ada", "ada"]


def test_the_admin_log_in_is_limited_too_and_shares_the_shops_limits(settings, django_user_model, password_checks):
    settings.RATE_LIMITS = {"login": "100/m", "login_account": "2/m"}
    django_user_model.objects.create_user("boss", "boss@example.com", PASSWORD, is_staff=True)
    client = Client(REMOTE_ADDR="10.5.0.1")
    assert client.post("/admin/login/", {"username": "boss", "password": "nope"}).status_code == 200
    assert client.post("/account/login/", {"username": "boss", "password": "nope"}).status_code == 200
    assert_too_many(Client(REMOTE_ADDR="10.5.0.2").post("/admin/login/", {"username": "boss", "password": PASSWORD}))
    assert len(password_checks) == 2
    assert client.get("/admin/login/").status_code == 200  # only attempts count; the form still shows


def test_the_admin_log_in_is_limited_per_client(settings, django_user_model, password_checks):
    settings.RATE_LIMITS = {"login": "1/m"}
    client = Client(REMOTE_ADDR="10.5.1.1")
    assert client.post("/admin/login/", {"username": "a", "password": "nope"}).status_code == 200
    assert_too_many(client.post("/admin/login/", {"username": "b", "password": "nope"}))
    assert len(password_checks) == 1


def test_sign_up_is_limited_per_client_and_then_creates_and_sends_nothing(settings, django_user_model):
    settings.RATE_LIMITS = {"signup": "1/m"}
    client = Client(REMOTE_ADDR="10.6.0.1")

    def sign_up(n):
        with TestCase.captureOnCommitCallbacks(execute=True):  # (its e-mail goes out after commit)
                return client.post("/account/signup/", {"username": f"user{n}", "email": f"user{n}@example.com",
                                                    "password1": PASSWORD, "password2": PASSWORD})

    assert sign_up(1).status_code == 302
    assert_too_many(sign_up(2))
    assert list(django_user_model.objects.values_list("username", flat=True)) == ["user1"]
    assert len(mail.outbox) == 1


def test_sign_up_is_limited_per_address_across_client_addresses(settings, django_user_model):
    """Every sign-up sends an e-mail to the address given (a confirmation link, or "you already have an account"):
    limited per client only, sign-ups from many addresses could flood one mailbox that password_reset_email
    protects from password resets. Now signup_email counts the address however it is written."""
    settings.RATE_LIMITS = {"signup": "100/m", "signup_email": "2/h"}

    def sign_up(n, email):
        with TestCase.captureOnCommitCallbacks(execute=True):  # (its e-mail goes out after commit)
            return Client(REMOTE_ADDR=f"10.6.1.{n}").post("/account/signup/", {
                "username": f"flood{n}", "email": email, "password1": PASSWORD, "password2": PASSWORD})

    answers = [sign_up(n, email) for n, email in enumerate(["ada@example.com", "ADA@example.com ",
                                                             "ada@example.com"])]
    assert [a.status_code for a in answers[:2]] == [302, 302]
    assert_too_many(answers[2])
    outbox.relay_pending()
    assert len(mail.outbox) == 2
    assert sign_up(9, "grace@example.com").status_code == 302  # another address is not limited by ada's


def test_password_reset_is_limited_per_client_and_then_sends_nothing(settings, django_user_model):
    settings.RATE_LIMITS = {"password_reset": "2/m", "password_reset_email": "100/h"}
    for n in range(3):
        django_user_model.objects.create_user(f"u{n}", f"u{n}@example.com", PASSWORD)
    client = Client(REMOTE_ADDR="10.7.0.1")
    answers = [client.post("/account/password-reset/", {"email": f"u{n}@example.com"}) for n in range(3)]
    assert [a.status_code for a in answers[:2]] == [302, 302]
    assert_too_many(answers[2])
    outbox.relay_pending()  # the e-mails go out from the outbox
    assert len(mail.outbox) == 2


def test_password_reset_is_limited_per_address_across_client_addresses(settings, django_user_model):
    settings.RATE_LIMITS = {"password_reset": "100/m", "password_reset_email": "2/h"}
    django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    answers = [Client(REMOTE_ADDR=f"10.8.0.{n}").post("/account/password-reset/", {"email": email})
               for n, email in enumerate(["ada@example.com", "ADA@example.com", "ada@example.com"])]
    assert [a.status_code for a in answers[:2]] == [302, 302]
    assert_too_many(answers[2])
    outbox.relay_pending()  # the e-mails go out from the outbox
    assert len(mail.outbox) == 2
    other = Client(REMOTE_ADDR="10.8.0.9").post("/account/password-reset/", {"email": "grace@example.com"})
    assert other.status_code == 302


def test_the_sign_in_limits_are_on_by_default():
    limits = parse_rate_limits(None)
    assert {group: limits[group] for group in ("login", "login_account", "signup", "signup_email", "password_reset",
                                               "password_reset_email")} == {
        "login": "10/m", "login_account": "5/m", "signup": "5/m", "signup_email": "3/h", "password_reset": "5/m",
        "password_reset_email": "3/h"}
    assert parse_rate_limits("login=20/m,password_reset_email=off")["login"] == "20/m"


