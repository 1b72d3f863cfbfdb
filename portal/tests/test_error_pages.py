"""Error pages: in the dashboard's layout with a way back; the 500 page static, so that it
renders when the database is down."""

from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import get_resolver

from testing.http import page_text

WAY_BACK = '<a class="button primary" href="/">Go to the dashboard</a>'
LAYOUT = '<link rel="stylesheet" href="/static/css/portal.css">'


def assert_error_page(response, status: int, heading: str) -> None:
    body = response.content.decode()
    assert response.status_code == status
    assert f'<h1 id="error-heading">{heading}</h1>' in body
    assert LAYOUT in body and f"Error {status}" in page_text(response)


def test_it_answers_a_missing_page_with_the_dashboard_layout_and_a_way_back(alice_client):
    response = alice_client.get("/no-such-page/")

    assert_error_page(response, 404, "Page not found")
    assert WAY_BACK in response.content.decode()
    assert "csrfmiddlewaretoken" not in response.content.decode()  # the same for everyone


def test_it_answers_another_owners_smtp_user_with_the_same_404_page(alice_client):
    response = alice_client.get("/smtp-users/smtp00000000/")

    assert_error_page(response, 404, "Page not found")
    assert "smtp00000000" not in response.content.decode()


def test_it_answers_a_staff_login_on_a_customer_page_with_a_403_page(client, support_member):
    client.force_login(support_member.user)

    response = client.get("/smtp-users/")

    assert_error_page(response, 403, "You may not open this page")
    assert WAY_BACK in response.content.decode()


def test_it_answers_an_expired_form_with_a_403_page_that_says_nothing_changed(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice.login)

    response = client.post("/smtp-users/new/", {"total_limit": "5", "hourly_limit": "5"})

    assert_error_page(response, 403, "This form has expired")
    assert "CSRF" in page_text(response) and "Nothing was changed" in page_text(response)


def test_it_answers_a_bad_host_with_a_400_page(client):
    response = client.get("/", headers={"host": "attacker.example"})

    assert_error_page(response, 400, "The request could not be understood")
    assert WAY_BACK in response.content.decode()


def test_it_answers_a_locked_out_sign_in_with_a_429_page_leading_back_to_sign_in(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": alice.login.email, "password": "wrong"})

    response = client.post("/accounts/login/", {"username": alice.login.email, "password": "x"})

    assert_error_page(response, 429, "Too many failed sign-ins")
    assert '<a class="button primary" href="/accounts/login/">Back to sign in</a>' in (
        response.content.decode()
    )


def test_it_renders_the_500_page_without_touching_the_database(django_db_blocker):
    server_error = get_resolver().resolve_error_handler(500)
    request = RequestFactory().get("/smtp-users/")

    with django_db_blocker.block():  # any query would raise
        response = server_error(request)

    assert_error_page(response, 500, "Something went wrong on our side")
    assert WAY_BACK in response.content.decode()
    assert '<nav aria-label="Main">' not in response.content.decode()
