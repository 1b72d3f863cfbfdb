"""What the client does when the answer is not a plain success: retries, network failures,
answers that are not the API's, and how it is configured. Local stub servers play the API."""

import pytest
import smtprelay
from stub_http import Answer

TOKEN = "secret-token-123"
OWNER_ID = "owner-abc"
UNAVAILABLE = Answer(
    503,
    {
        "status": "error",
        "code": -1,
        "name": "GeneralError",
        "type": "GeneralError",
        "message": "Service temporarily unavailable; try again",
    },
)
LISTED = Answer(200, {"status": "success", "smtp_list": []})
CREATED = Answer(
    200,
    {
        "status": "success",
        "message": "SMTP User Created",
        "smtp_user_name": "smtp1",
        "smtp_password": "p" * 20,
    },
)


def client_of(url, **options) -> smtprelay.Client:
    return smtprelay.Client(OWNER_ID, TOKEN, base_url=url, backoff=0, **options)


def assert_no_credentials(error: smtprelay.Error) -> None:
    for text in (str(error), repr(error)):
        assert TOKEN not in text
        assert OWNER_ID not in text


# --- Where requests go ------------------------------------------------------------------------


def test_it_builds_the_seeds_addresses_from_an_app_domain():
    client = smtprelay.Client("owner_id", "token", "example.com")

    assert client.smtp_api_url == "https://api.example.com/v1.0/"
    assert client.email_settings_url == "https://api.example.com/api/v2/email/settings"


def test_it_builds_addresses_under_a_base_url_with_or_without_a_trailing_slash():
    plain = smtprelay.Client("owner_id", "token", base_url="http://127.0.0.1:8000")
    prefixed = smtprelay.Client("owner_id", "token", base_url="https://portal.example/relay/")

    assert plain.smtp_api_url == "http://127.0.0.1:8000/v1.0/"
    assert plain.email_settings_url == "http://127.0.0.1:8000/api/v2/email/settings"
    assert prefixed.smtp_api_url == "https://portal.example/relay/v1.0/"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"app_domain": None, "base_url": None}, "give exactly one of app_domain"),
        ({"app_domain": "example.com", "base_url": "http://x"}, "give exactly one"),
        ({"app_domain": "https://example.com"}, "app_domain must be a bare domain"),
        ({"base_url": "127.0.0.1:8000"}, "base_url must be an http:// or https://"),
        ({"base_url": "http://x/?a=1"}, "must not have a query"),
    ],
)
def test_it_refuses_a_missing_or_malformed_address(arguments, message):
    with pytest.raises(ValueError, match=message):
        smtprelay.Client("owner_id", "token", **arguments)


def test_it_refuses_missing_credentials():
    with pytest.raises(ValueError, match="owner_id and token are both required"):
        smtprelay.Client("", "token", "example.com")


def test_it_posts_the_credentials_and_the_parameters_as_one_json_body(stub_server):
    stub = stub_server(Answer(200, {"status": "success", "message": "SMTP User Updated"}))

    result = client_of(stub.url).settings.editSmtp("smtp1", total_limit=None, hourly_limit=7)

    assert result == {"status": "success", "message": "SMTP User Updated"}
    [request] = stub.requests
    assert (request.method, request.path) == ("POST", "/v1.0/settings/editSmtp")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == f"smtprelay-client/{smtprelay.__version__}"
    assert request.json == {
        "owner_id": OWNER_ID,
        "token": TOKEN,
        "smtp_user_name": "smtp1",
        "hourly_limit": 7,
    }


# --- Retries ----------------------------------------------------------------------------------


def test_it_retries_list_after_503_answers_and_returns_the_success(stub_server):
    stub = stub_server(UNAVAILABLE, UNAVAILABLE, LISTED)

    result = client_of(stub.url).settings.listSmtp()

    assert result == {"status": "success", "smtp_list": []}
    assert [request.path for request in stub.requests] == ["/v1.0/settings/listSmtp"] * 3


def test_it_raises_the_last_error_once_the_retries_are_used_up(stub_server):
    stub = stub_server(
        UNAVAILABLE,
        Answer(429, {"status": "error", "name": "GeneralError", "message": "Slow down"}),
        UNAVAILABLE,
        LISTED,
    )

    with pytest.raises(smtprelay.GeneralError) as caught:
        client_of(stub.url, max_retries=2).settings.listSmtp()

    assert (caught.value.status_code, caught.value.message) == (
        503,
        "Service temporarily unavailable; try again",
    )
    assert len(stub.requests) == 3


def test_it_does_not_retry_when_max_retries_is_zero(stub_server):
    stub = stub_server(UNAVAILABLE, LISTED)

    with pytest.raises(smtprelay.GeneralError):
        client_of(stub.url, max_retries=0).settings.listSmtp()

    assert len(stub.requests) == 1


def test_it_does_not_retry_a_client_error(stub_server):
    stub = stub_server(
        Answer(
            401, {"status": "error", "name": "AuthenticationError", "message": "Token MissMatch"}
        ),
        LISTED,
    )

    with pytest.raises(smtprelay.AuthenticationError):
        client_of(stub.url).settings.listSmtp()

    assert len(stub.requests) == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda settings: settings.addSmtpUser(total_limit=5, hourly_limit=1),
        lambda settings: settings.editSmtp("smtp1", status="Disable"),
        lambda settings: settings.resetSmtpPassword("smtp1"),
    ],
    ids=["addSmtpUser", "editSmtp", "resetSmtpPassword"],
)
def test_it_never_retries_a_call_that_changes_something(stub_server, call):
    stub = stub_server(UNAVAILABLE, CREATED)

    with pytest.raises(smtprelay.GeneralError) as caught:
        call(client_of(stub.url).settings)

    assert caught.value.status_code == 503
    assert len(stub.requests) == 1


def test_it_retries_list_when_the_connection_drops_without_an_answer(stub_server):
    stub = stub_server(Answer(drop=True), LISTED)

    assert client_of(stub.url).settings.listSmtp() == {"status": "success", "smtp_list": []}
    assert len(stub.requests) == 2


def test_it_does_not_retry_add_when_the_connection_drops(stub_server):
    stub = stub_server(Answer(drop=True), CREATED)

    with pytest.raises(smtprelay.NetworkError) as caught:
        client_of(stub.url).settings.addSmtpUser(total_limit=5, hourly_limit=1)

    assert caught.value.message.startswith(f"POST {stub.url}/v1.0/settings/addSmtp failed: ")
    assert len(stub.requests) == 1


# --- No answer, or not the API's --------------------------------------------------------------


def test_it_raises_network_error_naming_the_address_when_nothing_listens(closed_port_url):
    with pytest.raises(smtprelay.NetworkError) as caught:
        client_of(closed_port_url, max_retries=1).settings.listSmtp()

    error = caught.value
    assert str(error) == (
        f"POST {closed_port_url}/v1.0/settings/listSmtp failed: Connection refused"
    )
    assert (error.name, error.status_code, error.code, error.body) == (
        "NetworkError",
        None,
        None,
        None,
    )
    # No chained HTTP library exception: it would hold the request, credentials included.
    assert error.__cause__ is None
    assert error.__context__ is None
    assert_no_credentials(error)


def test_it_raises_network_error_when_the_answer_is_too_slow(stub_server):
    stub = stub_server(Answer(delay=1.0))

    with pytest.raises(smtprelay.NetworkError) as caught:
        client_of(stub.url, timeout=0.2, max_retries=0).settings.listSmtp()

    assert str(caught.value) == (
        f"POST {stub.url}/v1.0/settings/listSmtp failed: no answer within 0.2 s"
    )


def test_it_raises_protocol_error_for_an_html_answer(stub_server):
    stub = stub_server(Answer(200, "<html><body>Welcome</body></html>", "text/html"))

    with pytest.raises(smtprelay.ProtocolError) as caught:
        client_of(stub.url).settings.addSmtpUser(total_limit=1, hourly_limit=1)

    assert str(caught.value) == (
        f"POST {stub.url}/v1.0/settings/addSmtp answered with text/html, not JSON; "
        "is this the portal's address? (HTTP 200)"
    )
    assert_no_credentials(caught.value)


def test_it_raises_protocol_error_for_the_portals_404_page_outside_the_api(alice, live_server):
    with (
        smtprelay.Client(
            alice.owner_id, alice.token, base_url=f"{live_server.url}/nowhere"
        ) as client,
        pytest.raises(smtprelay.ProtocolError) as caught,
    ):
        client.settings.listSmtp()

    error = caught.value
    assert error.status_code == 404
    assert f"POST {live_server.url}/nowhere/v1.0/settings/listSmtp answered with text/html" in str(
        error
    )
    assert alice.token not in str(error)


def test_it_raises_protocol_error_for_json_that_is_not_an_object(stub_server):
    stub = stub_server(Answer(200, ["not", "an", "object"]))

    with pytest.raises(smtprelay.ProtocolError, match="answered with a JSON list, not an object"):
        client_of(stub.url).settings.listSmtp()


def test_it_does_not_follow_a_redirect(stub_server):
    stub = stub_server(
        Answer(301, "", "text/html", headers={"Location": "https://user:pw@portal.example/x"})
    )

    with pytest.raises(smtprelay.ProtocolError) as caught:
        client_of(stub.url).settings.addSmtpUser(total_limit=1, hourly_limit=1)

    assert str(caught.value) == (
        f"POST {stub.url}/v1.0/settings/addSmtp was redirected to https://portal.example/x; "
        "point the client at the final address (HTTP 301)"
    )
    assert len(stub.requests) == 1


def test_it_keeps_user_and_password_of_the_base_url_out_of_messages(closed_port_url):
    address = closed_port_url.replace("http://", "http://admin:hunter2@")

    with pytest.raises(smtprelay.NetworkError) as caught:
        client_of(address, max_retries=0).settings.listSmtp()

    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith(f"POST {closed_port_url}/v1.0/settings/listSmtp failed")


def test_it_raises_the_error_an_error_answer_names_even_with_status_200(stub_server):
    stub = stub_server(
        Answer(200, {"status": "error", "code": "-1", "name": "ValidationError", "message": "no"})
    )

    with pytest.raises(smtprelay.ValidationError) as caught:
        client_of(stub.url).settings.listSmtp()

    assert (caught.value.code, caught.value.status_code, str(caught.value)) == (
        "-1",
        200,
        "no (HTTP 200)",
    )


def test_it_maps_an_unknown_error_name_by_status(stub_server):
    stub = stub_server(Answer(500, {"status": "error", "name": "OddError", "message": "odd"}))

    with pytest.raises(smtprelay.GeneralError) as caught:
        client_of(stub.url, max_retries=0).settings.listSmtp()

    assert repr(caught.value) == (
        "GeneralError(name='OddError', code=None, status_code=500, message='odd')"
    )
