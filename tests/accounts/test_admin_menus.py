"""The staff admin's menus show the shop (issue 23): Celery beat's schedules (periodic tasks, clocked, crontabs,
intervals, solar events) are plumbing, kept out of the index and menus even for a superuser, who still reaches them
by address; the page's width goes to the lists (no menu column beside them)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, django_user_model):
    owner = django_user_model.objects.create_superuser("owner", "owner@example.com", "pw-for-tests-only")
    client.force_login(owner)
    return client


def test_periodic_tasks_are_not_in_the_admin_menus(owner_client, manager_client):
    for staff in (owner_client, manager_client):
        html = staff.get("/admin/").content.decode()
        assert "Orders" in html and "Periodic tasks" not in html and "Crontabs" not in html
        html = staff.get("/admin/orders/order/").content.decode()
        assert 'id="nav-sidebar"' not in html and "Periodic tasks" not in html
    assert owner_client.get("/admin/django_celery_beat/periodictask/").status_code == 200  # still by address
