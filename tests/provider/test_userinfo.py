"""UserInfo endpoint (OpenID Connect Core §5.3) with bearer tokens (RFC 6750)."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from jwcrypto import jwk, jwt

from oauthkit.provider.adapter import ProviderAdapter
from oauthkit.testing.factories import AccessTokenFactory, UserFactory
from tests.helpers import FORM, basic_auth, bearer, get_code, post_form, redeem

pytestmark = pytest.mark.django_db

USERINFO = "/o/userinfo/"
NONCE = "n-0S6_WzA2Mj"


@pytest.fixture
def alice(db):
    return UserFactory(
        username="alice", first_name="Alice", last_name="Liddell", email="alice@example.com"
    )


def tokens(http, user, oauth_client, scope: str = "openid profile email") -> dict:
    """The token response of a real code flow for ``user``."""
    http.force_login(user)
    code, verifier = get_code(http, oauth_client, scope=scope, nonce=NONCE)
    response = redeem(http, oauth_client, code, verifier)
    assert response.status_code == 200, response.content
    return response.json()


def id_token_claims(http, id_token: str) -> dict:
    jwks = jwk.JWKSet.from_json(http.get("/o/jwks/").content)
    return json.loads(jwt.JWT(jwt=id_token, key=jwks, algs=["RS256"]).claims)


def challenge(response) -> str:
    """The WWW-Authenticate Bearer challenge (RFC 6750 §3)."""
    value = response["WWW-Authenticate"]
    assert value.startswith("Bearer "), value
    return value


def assert_invalid_token(response) -> None:
    # RFC 6750 §3.1: a bad token is 401 invalid_token, never any claim.
    assert response.status_code == 401, (response.status_code, response.content)
    assert 'error="invalid_token"' in challenge(response)
    assert "sub" not in response.json()
    assert response["Cache-Control"] == "no-store"


def test_get_with_header_returns_profile_and_email_claims(client, alice, oauth_client):
    body = tokens(client, alice, oauth_client)

    response = client.get(USERINFO, **bearer(body["access_token"]))

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    claims = response.json()
    # Core §5.3.2: sub always, and the same as the ID token's.
    assert claims["sub"] == id_token_claims(client, body["id_token"])["sub"] == str(alice.pk)
    # Core §5.4: profile and email scopes.
    assert claims["name"] == "Alice Liddell"
    assert claims["given_name"] == "Alice"
    assert claims["family_name"] == "Liddell"
    assert claims["preferred_username"] == "alice"
    assert claims["email"] == "alice@example.com"
    # Django does not verify addresses, so email_verified is never claimed.
    assert "email_verified" not in claims


def test_post_with_token_in_form_body(client, alice, oauth_client):
    # RFC 6750 §2.2: the form-encoded body parameter access_token.
    body = tokens(client, alice, oauth_client)
    client.logout()  # the token alone authenticates: no session involved

    response = post_form(client, USERINFO, {"access_token": body["access_token"]})

    assert response.status_code == 200, response.content
    assert response.json()["sub"] == str(alice.pk)
    assert response.json()["email"] == "alice@example.com"


def test_post_with_header(client, alice, oauth_client):
    body = tokens(client, alice, oauth_client)

    response = client.post(USERINFO, **bearer(body["access_token"]))

    assert response.status_code == 200, response.content
    assert response.json()["preferred_username"] == "alice"


def test_only_the_scopes_claims_are_released(client, alice, oauth_client):
    email_only = tokens(client, alice, oauth_client, scope="openid email")
    claims = client.get(USERINFO, **bearer(email_only["access_token"])).json()
    assert claims == {"sub": str(alice.pk), "email": "alice@example.com"}

    openid_only = tokens(client, alice, oauth_client, scope="openid")
    claims = client.get(USERINFO, **bearer(openid_only["access_token"])).json()
    assert claims == {"sub": str(alice.pk)}


def test_claims_with_empty_values_are_left_out(client, oauth_client):
    # Core §5.3.2: claims without a value are omitted, not null or "".
    bob = UserFactory(username="bob", first_name="", last_name="", email="")
    body = tokens(client, bob, oauth_client)

    claims = client.get(USERINFO, **bearer(body["access_token"])).json()

    assert claims == {"sub": str(bob.pk), "preferred_username": "bob"}


def test_refreshed_token_reads_userinfo_with_the_same_sub(client, alice, oauth_client):
    first = tokens(client, alice, oauth_client)
    refreshed = post_form(
        client,
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        **basic_auth(oauth_client),
    ).json()

    claims = client.get(USERINFO, **bearer(refreshed["access_token"])).json()

    assert claims["sub"] == id_token_claims(client, refreshed["id_token"])["sub"]
    assert claims["email"] == "alice@example.com"


def test_token_without_openid_is_403_insufficient_scope(client, alice, oauth_client):
    body = tokens(client, alice, oauth_client, scope="profile email read")

    response = client.get(USERINFO, **bearer(body["access_token"]))

    # RFC 6750 §3.1 insufficient_scope, naming the scope that is needed.
    assert response.status_code == 403, response.content
    value = challenge(response)
    assert 'error="insufficient_scope"' in value
    assert 'scope="openid"' in value
    assert response.json()["error"] == "insufficient_scope"
    assert "email" not in response.json()


def test_unknown_token_is_401(client):
    assert_invalid_token(client.get(USERINFO, **bearer("not-a-token")))


def test_expired_token_is_401(client, alice):
    token = AccessTokenFactory(
        user=alice, scope="openid profile", expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert_invalid_token(client.get(USERINFO, **bearer(token.raw_token)))


def test_revoked_token_is_401(client, alice, oauth_client):
    body = tokens(client, alice, oauth_client)
    assert client.get(USERINFO, **bearer(body["access_token"])).status_code == 200

    revoked = post_form(
        client, "/o/revoke/", {"token": body["access_token"]}, **basic_auth(oauth_client)
    )
    assert revoked.status_code == 200

    assert_invalid_token(client.get(USERINFO, **bearer(body["access_token"])))


def test_token_of_a_deactivated_user_is_401(client, alice, oauth_client):
    body = tokens(client, alice, oauth_client)
    alice.is_active = False
    alice.save()

    assert_invalid_token(client.get(USERINFO, **bearer(body["access_token"])))


def test_client_credentials_token_is_401(client, oauth_client):
    # No end-user stands behind this token, so there is nobody to describe.
    issued = post_form(
        client,
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "openid profile"},
        **basic_auth(oauth_client),
    )
    assert issued.status_code == 200, issued.content

    assert_invalid_token(client.get(USERINFO, **bearer(issued.json()["access_token"])))


def test_id_token_is_not_an_access_token(client, alice, oauth_client):
    # RFC 9068 §4: only at+jwt tokens are access tokens; an ID token is refused.
    body = tokens(client, alice, oauth_client)
    assert_invalid_token(client.get(USERINFO, **bearer(body["id_token"])))


def test_token_in_query_string_is_never_accepted(client, alice, oauth_client):
    # RFC 6750 §2.3, RFC 9700 §2.5: URLs end up in logs and Referer headers.
    body = tokens(client, alice, oauth_client)

    for response in (
        client.get(USERINFO, {"access_token": body["access_token"]}),
        client.post(f"{USERINFO}?access_token={body['access_token']}"),
    ):
        assert response.status_code == 401, response.content
        assert "sub" not in response.json()
        # RFC 6750 §3.1: a request without credentials gets a challenge without an error.
        assert challenge(response) == 'Bearer realm="api"'


def test_no_token_is_401_without_error_code(client):
    # RFC 6750 §3.1: no error information when the request carries no credentials.
    response = client.get(USERINFO)
    assert response.status_code == 401
    assert challenge(response) == 'Bearer realm="api"'
    assert response["Cache-Control"] == "no-store"


def test_token_in_header_and_body_is_400(client, alice, oauth_client):
    # RFC 6750 §2: a client must not use more than one method.
    token = tokens(client, alice, oauth_client)["access_token"]

    response = post_form(client, USERINFO, {"access_token": token}, **bearer(token))

    assert response.status_code == 400, response.content
    assert 'error="invalid_request"' in challenge(response)
    assert response.json()["error"] == "invalid_request"


def test_repeated_body_token_is_400(client, alice, oauth_client):
    # RFC 6749 §3.1: a parameter must not be repeated.
    token = tokens(client, alice, oauth_client)["access_token"]

    response = post_form(client, USERINFO, {"access_token": [token, token]})

    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"


def test_body_token_must_be_form_encoded(client, alice, oauth_client):
    # RFC 6750 §2.2: only an application/x-www-form-urlencoded body.
    token = tokens(client, alice, oauth_client)["access_token"]

    response = client.post(USERINFO, {"access_token": token})  # multipart

    assert response.status_code == 401, response.content


def test_responses_are_never_cached_and_allow_cors(client, alice, oauth_client):
    token = tokens(client, alice, oauth_client)["access_token"]

    for response in (
        client.get(USERINFO, **bearer(token), HTTP_ORIGIN="https://spa.example"),
        client.get(USERINFO, **bearer("bad"), HTTP_ORIGIN="https://spa.example"),
    ):
        # Core §5.3 carries personal data: no-store (RFC 6749 §5.1 style).
        assert response["Cache-Control"] == "no-store"
        # Browser apps call UserInfo directly; the token, not a cookie, authenticates.
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in response


def test_cors_preflight(client):
    response = client.options(
        USERINFO,
        HTTP_ORIGIN="https://spa.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    methods = {m.strip() for m in response["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST"} <= methods
    headers = {h.strip().lower() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert "authorization" in headers


def test_other_methods_are_refused(client, alice, oauth_client):
    token = tokens(client, alice, oauth_client)["access_token"]
    assert client.put(USERINFO, **bearer(token)).status_code == 405
    assert client.delete(USERINFO, **bearer(token)).status_code == 405


class DepartmentAdapter(ProviderAdapter):
    """A site's adapter: a custom claim behind a custom scope, and email_verified."""

    def get_claims(self, user, names, *, client, scopes):
        claims = super().get_claims(user, names, client=client, scopes=scopes)
        claims["email_verified"] = True  # this site verifies addresses at sign-up
        if "department" in scopes:
            claims["department"] = "Research"
        return claims

    def supported_claims(self):
        return [*super().supported_claims(), "email_verified", "department"]


@pytest.fixture
def department_adapter(settings):
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "ADAPTER": f"{__name__}.DepartmentAdapter",
        "SCOPES": {
            "openid": "Sign you in",
            "profile": "Your profile",
            "email": "Your email address",
            "department": "Your department",
        },
    }


@pytest.mark.usefixtures("department_adapter")
def test_adapter_claims_appear_in_userinfo_and_discovery(client, alice, oauth_client):
    body = tokens(client, alice, oauth_client, scope="openid email department")

    claims = client.get(USERINFO, **bearer(body["access_token"])).json()

    assert claims == {
        "sub": str(alice.pk),
        "email": "alice@example.com",
        "email_verified": True,
        "department": "Research",
    }
    supported = client.get("/.well-known/openid-configuration").json()["claims_supported"]
    assert {"department", "email_verified", "sub"} <= set(supported)


@pytest.mark.usefixtures("department_adapter")
def test_adapter_claims_follow_their_scopes(client, alice, oauth_client):
    # A standard claim still needs its scope (Core §5.4), whatever the adapter returns;
    # the adapter decides for its own claims.
    body = tokens(client, alice, oauth_client, scope="openid profile")

    claims = client.get(USERINFO, **bearer(body["access_token"])).json()

    assert "department" not in claims
    assert "email_verified" not in claims
    assert "email" not in claims
    assert claims["name"] == "Alice Liddell"


def test_form_content_type_with_charset_is_accepted(client, alice, oauth_client):
    token = tokens(client, alice, oauth_client)["access_token"]

    response = client.post(USERINFO, f"access_token={token}", content_type=f"{FORM}; charset=UTF-8")

    assert response.status_code == 200, response.content


def test_relying_party_post_needs_no_csrf_token(client, alice, oauth_client):
    # A relying party's server posts the token without cookies or a CSRF token.
    token = tokens(client, alice, oauth_client)["access_token"]
    relying_party = Client(enforce_csrf_checks=True)

    response = post_form(relying_party, USERINFO, {"access_token": token})

    assert response.status_code == 200, response.content


def test_userinfo_costs_one_query(client, alice, oauth_client, django_assert_max_num_queries):
    token = tokens(client, alice, oauth_client)["access_token"]
    client.logout()

    # The token row with its client and user, in one query (select_related).
    with django_assert_max_num_queries(1):
        response = client.get(USERINFO, **bearer(token))
    assert response.status_code == 200
