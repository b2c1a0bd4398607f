"""Reading the bearer token from a request (RFC 6750 §2) and the challenges (§3)."""

from urllib.parse import urlencode

import pytest

from tests.helpers import FORM, basic
from tests.resource.helpers import ECHO, bearer, cc_token, configure

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.resource.api")]


@pytest.fixture
def token(client, oauth_client) -> str:
    return cc_token(client, oauth_client)


def assert_invalid_request(response) -> None:
    # RFC 6750 §3.1: invalid_request is a 400.
    assert response.status_code == 400, (response.status_code, response.content)
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="api", error="invalid_request", error_description=')


def post_form_body(http, data: dict, **extra):
    return http.post(ECHO, urlencode(data), content_type=FORM, **extra)


def test_header_token_is_accepted(client, token, oauth_client):
    response = client.get(ECHO, **bearer(token))

    assert response.status_code == 200
    assert response.json()["client_id"] == oauth_client.client_id


def test_scheme_is_case_insensitive(client, token):
    # RFC 7235 §2.1: the auth-scheme is case-insensitive.
    assert client.get(ECHO, HTTP_AUTHORIZATION=f"bearer {token}").status_code == 200


def test_no_token_is_401_with_bare_challenge(client):
    response = client.get(ECHO)

    # RFC 6750 §3.1: a request without credentials gets no error code.
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_realm_is_configurable(client, settings):
    configure(settings, {"REALM": "billing"})

    assert client.get(ECHO)["WWW-Authenticate"] == 'Bearer realm="billing"'


def test_invalid_token_challenge_names_the_error(client):
    response = client.get(ECHO, **bearer("nope"))

    # RFC 6750 §3: realm, error and error_description.
    assert response.status_code == 401
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="api", error="invalid_token", error_description="')


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Bearer", id="no-value"),
        pytest.param("Bearer ", id="empty-value"),
        pytest.param("Bearer    ", id="blank-value"),
        pytest.param("Bearer abc def", id="two-values"),
    ],
)
def test_malformed_bearer_header_is_400(client, header):
    assert_invalid_request(client.get(ECHO, HTTP_AUTHORIZATION=header))


def test_form_body_token_is_ignored_by_default(client, token):
    # RFC 6750 §2.2 is optional; off by default, so the token is not seen at all.
    response = post_form_body(client, {"access_token": token})

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_form_body_token_when_enabled(client, settings, token, oauth_client):
    configure(settings, {"ALLOW_FORM_BODY": True})

    response = post_form_body(client, {"access_token": token, "name": "x"})

    # RFC 6750 §2.2; the view still reads the body it was sent.
    assert response.status_code == 200, response.content
    assert response.json()["client_id"] == oauth_client.client_id
    assert response.json()["data"] == ["access_token", "name"]


@pytest.mark.parametrize("content_type", ["application/json", "multipart/form-data"])
def test_form_body_token_is_read_only_from_urlencoded_bodies(client, settings, token, content_type):
    configure(settings, {"ALLOW_FORM_BODY": True})
    data = {"access_token": token}
    kwargs = {"content_type": content_type} if content_type == "application/json" else {}

    # RFC 6750 §2.2: only a single-part application/x-www-form-urlencoded body.
    response = client.post(ECHO, data, **kwargs)

    assert response.status_code == 401


def test_form_body_token_is_not_read_from_a_get(client, settings, token):
    configure(settings, {"ALLOW_FORM_BODY": True})

    # RFC 6750 §2.2: never with GET.
    response = client.generic("GET", ECHO, urlencode({"access_token": token}), content_type=FORM)

    assert response.status_code == 401


def test_query_string_token_is_ignored_by_default(client, token):
    # RFC 6750 §2.3 and security checklist 17: never in URLs unless a site opts in.
    response = client.get(ECHO, {"access_token": token})

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_query_string_token_when_enabled(client, settings, token):
    configure(settings, {"ALLOW_QUERY_STRING": True})

    assert client.get(ECHO, {"access_token": token}).status_code == 200


def test_header_and_form_body_is_400(client, settings, token):
    configure(settings, {"ALLOW_FORM_BODY": True})

    # RFC 6750 §2: a client must not use more than one method.
    assert_invalid_request(post_form_body(client, {"access_token": token}, **bearer(token)))


def test_header_and_query_string_is_400(client, settings, token):
    configure(settings, {"ALLOW_QUERY_STRING": True})

    assert_invalid_request(client.get(f"{ECHO}?access_token={token}", **bearer(token)))


def test_form_body_and_query_string_is_400(client, settings, token):
    configure(settings, {"ALLOW_FORM_BODY": True, "ALLOW_QUERY_STRING": True})

    response = client.post(
        f"{ECHO}?access_token={token}", urlencode({"access_token": token}), content_type=FORM
    )

    assert_invalid_request(response)


@pytest.mark.parametrize(
    "query", ["access_token=&x=1", "access_token=a&access_token=b"], ids=["empty", "twice"]
)
def test_empty_or_repeated_query_token_is_400(client, settings, query):
    configure(settings, {"ALLOW_QUERY_STRING": True})

    # RFC 6749 §3.1: a parameter must not be sent twice; an empty token is no token.
    assert_invalid_request(client.get(f"{ECHO}?{query}"))


def test_repeated_form_body_token_is_400(client, settings, token):
    configure(settings, {"ALLOW_FORM_BODY": True})

    body = urlencode([("access_token", token), ("access_token", "other")])

    assert_invalid_request(client.post(ECHO, body, content_type=FORM))


def test_other_scheme_is_left_to_other_authenticators(client, user):
    # A Basic header is not ours: OAuth2Authentication returns None, and the next
    # authenticator (Basic) signs the user in.
    response = client.get("/api/either", HTTP_AUTHORIZATION=basic("alice", "password"))

    assert response.status_code == 200, response.content
    assert response.json() == {"user": "alice", "auth": None}


def test_other_scheme_alone_is_401_with_bearer_challenge(client, user):
    response = client.get(ECHO, HTTP_AUTHORIZATION=basic("alice", "password"))

    # Not authenticated by any class of the view: DRF's 401 with our (bare) challenge.
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_bad_bearer_token_is_not_passed_on_to_other_authenticators(client, user):
    # A bearer token that fails is refused, not treated as "no credentials".
    response = client.get("/api/either", **bearer("forged"))

    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
