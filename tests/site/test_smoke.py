"""The site answers: sign-in page, admin, health check, and the home page behind sign-in."""

import pytest

from tests.factories import reviewer

pytestmark = pytest.mark.django_db


def test_login_page_answers(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Sign in to Etude" in response.content


def test_home_requires_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_signed_in_reviewer_sees_overview(client):
    client.force_login(reviewer())
    response = client.get("/")
    assert response.status_code == 200
    assert b"items to review" in response.content


def test_sign_in_with_password(client):
    reviewer(username="rita")
    response = client.post(
        "/accounts/login/",
        {"username": "rita", "password": "correct horse battery staple"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_wrong_password_is_refused(client):
    reviewer(username="rita")
    response = client.post("/accounts/login/", {"username": "rita", "password": "nope"})
    assert response.status_code == 200
    assert b"match. Please try again" in response.content


def test_admin_login_answers(client):
    assert client.get("/admin/login/").status_code == 200


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == "ok"


def test_htmx_is_served_locally(client):
    response = client.get("/accounts/login/")
    assert b"django_htmx/htmx" in response.content
    assert b"https://" not in response.content
