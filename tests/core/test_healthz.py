import pytest

from tests.ports import dead_redis_caches


@pytest.mark.django_db
def test_healthz_reports_ok_when_database_and_redis_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_unreachable(client, settings):
    settings.CACHES = dead_redis_caches(timeout=0.5)  # a port this run holds, on which nothing listens
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"] == "down"
