"""Resource indicators (RFC 8707): a client asks for a token meant for one API.

Driven through real requests: the token endpoint (all three grants), the authorization
endpoint, introspection, and a throwaway DRF view validating the token as an API would.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from oauthkit import jose
from oauthkit.drf.authentication import OAuth2Authentication
from oauthkit.provider.keys import key_ring
from oauthkit.provider.models import AccessToken, AuthorizationCode, Client
from oauthkit.testing.factories import ClientFactory
from tests.helpers import (
    ISSUER,
    assert_oauth_error,
    assert_redirected_error,
    authorize_params,
    basic_auth,
    consent_form,
    get_code,
    pkce_pair,
    post_form,
    query_of,
    redeem,
)
from tests.provider._device import answer, device_app, poll, start, token_request

pytestmark = pytest.mark.django_db

API = "https://api.example.com/"
BILLING = "https://billing.example.com/v1"
UNLISTED = "https://other.example.com/"


class Echo(APIView):
    """An API protected by OAuth2Authentication, as tests/drf/test_smoke.py."""

    authentication_classes = [OAuth2Authentication]
    permission_classes = []

    def get(self, request):
        return Response({"aud": request.auth.audience})


urlpatterns = [path("api/echo", Echo.as_view()), path("", include("tests.urls"))]


@pytest.fixture(autouse=True)
def fresh_key_ring():
    # Keys cached by an earlier test may name rows that were rolled back.
    key_ring.clear()
    yield
    key_ring.clear()


@pytest.fixture
def api_client(db):
    """A confidential client allowed to ask for tokens for two APIs."""
    return ClientFactory(name="API client", allowed_resources=[API, BILLING])


def token(http, oauth_client, **data):
    return post_form(http, "/o/token/", data, **basic_auth(oauth_client))


def client_credentials(http, oauth_client, **data):
    return token(http, oauth_client, grant_type="client_credentials", **data)


def claims_of(access_token: str) -> dict:
    _, claims = jose.verify(
        access_token, key_ring.verification_keys(), algs=jose.SUPPORTED_ALGORITHMS
    )
    return claims


def introspect(http, oauth_client, access_token: str) -> dict:
    response = post_form(
        http, "/o/introspect/", {"token": access_token}, **basic_auth(oauth_client)
    )
    assert response.status_code == 200, response.content
    return response.json()


# --- Token endpoint: client credentials ----------------------------------------------------


def test_client_credentials_token_is_for_the_resource(client, api_client):
    # RFC 8707 §2: the requested resource becomes the token's audience.
    response = client_credentials(client, api_client, resource=API)
    assert response.status_code == 200, response.content
    access_token = response.json()["access_token"]
    assert claims_of(access_token)["aud"] == API
    assert AccessToken.objects.get().audience == API
    assert introspect(client, api_client, access_token)["aud"] == API


def test_opaque_token_for_a_resource_introspects_with_it(client, api_client):
    api_client.access_token_format = Client.TokenFormat.OPAQUE
    api_client.save()
    response = client_credentials(client, api_client, resource=BILLING)
    assert response.status_code == 200, response.content
    assert introspect(client, api_client, response.json()["access_token"])["aud"] == BILLING


def test_without_resource_the_token_keeps_the_default_audience(client, api_client):
    response = client_credentials(client, api_client)
    assert response.status_code == 200, response.content
    assert claims_of(response.json()["access_token"])["aud"] == ISSUER


@pytest.mark.parametrize("configured", [None, "https://audience.example.com"])
def test_the_default_audience_may_be_named_without_being_listed(
    client, oauth_client, settings, configured
):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ACCESS_TOKEN_AUDIENCE": configured}
    default = configured or ISSUER
    response = client_credentials(client, oauth_client, resource=default)
    assert response.status_code == 200, response.content
    assert claims_of(response.json()["access_token"])["aud"] == default


def test_a_resource_the_client_may_not_use_is_invalid_target(client, api_client):
    # RFC 8707 §2: invalid_target when the resource is not one this client may use.
    response = client_credentials(client, api_client, resource=UNLISTED)
    body = assert_oauth_error(response, "invalid_target")
    assert UNLISTED in body["error_description"]
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize(
    "resource,reason",
    [
        ("/api", "absolute"),
        ("api.example.com", "absolute"),
        ("https://api.example.com/#v1", "fragment"),
        ("https:///path", "host"),
        ("https://api.example.com/ x", "whitespace"),
        ("", "non-empty"),
    ],
)
def test_a_malformed_resource_is_invalid_target(client, resource, reason):
    # RFC 8707 §2: an absolute URI without a fragment. Refused even when (wrongly) listed.
    listed = ClientFactory(allowed_resources=[resource])
    body = assert_oauth_error(
        client_credentials(client, listed, resource=resource), "invalid_target"
    )
    assert reason in body["error_description"]


def test_two_resources_are_invalid_target_not_invalid_request(client, api_client):
    # RFC 8707 §2 lets `resource` repeat; one token here has one audience.
    response = post_form(
        client,
        "/o/token/",
        {"grant_type": "client_credentials", "resource": [API, BILLING]},
        **basic_auth(api_client),
    )
    body = assert_oauth_error(response, "invalid_target")
    assert "one resource" in body["error_description"]


def test_other_parameters_still_must_not_repeat(client, api_client):
    # RFC 6749 §3.2: only `resource` is exempt from the repeated-parameter rule.
    response = post_form(
        client,
        "/o/token/",
        {"grant_type": "client_credentials", "scope": ["read", "read"], "resource": API},
        **basic_auth(api_client),
    )
    body = assert_oauth_error(response, "invalid_request")
    assert "scope" in body["error_description"]


# --- Authorization code ---------------------------------------------------------------------


def test_resource_named_at_authorization_is_the_tokens_audience(client, user, api_client):
    client.force_login(user)
    code, verifier = get_code(client, api_client, resource=API)
    assert AuthorizationCode.objects.get().resource == API
    # RFC 8707 §2: the token request may omit it; the one of the authorization applies.
    response = redeem(client, api_client, code, verifier)
    assert response.status_code == 200, response.content
    assert claims_of(response.json()["access_token"])["aud"] == API


def test_token_request_may_repeat_the_authorizations_resource(client, user, api_client):
    client.force_login(user)
    code, verifier = get_code(client, api_client, resource=BILLING)
    response = redeem(client, api_client, code, verifier, resource=BILLING)
    assert response.status_code == 200, response.content
    assert claims_of(response.json()["access_token"])["aud"] == BILLING


def test_token_request_naming_another_resource_is_invalid_target(client, user, api_client):
    client.force_login(user)
    code, verifier = get_code(client, api_client, resource=API)
    # BILLING is allowed for the client, but it is not what the user authorized.
    response = redeem(client, api_client, code, verifier, resource=BILLING)
    assert_oauth_error(response, "invalid_target")
    assert not AccessToken.objects.exists()


def test_resource_named_only_at_the_token_endpoint(client, user, api_client):
    client.force_login(user)
    code, verifier = get_code(client, api_client)
    assert AuthorizationCode.objects.get().resource == ""
    response = redeem(client, api_client, code, verifier, resource=BILLING)
    assert response.status_code == 200, response.content
    assert claims_of(response.json()["access_token"])["aud"] == BILLING


def test_stored_resource_no_longer_allowed_is_invalid_target(client, user, api_client):
    client.force_login(user)
    code, verifier = get_code(client, api_client, resource=API)
    api_client.allowed_resources = [BILLING]
    api_client.save()
    assert_oauth_error(redeem(client, api_client, code, verifier), "invalid_target")


def test_resource_is_carried_through_the_consent_page(client, user, api_client):
    client.force_login(user)
    _, challenge = pkce_pair()
    page = client.get("/o/authorize/", authorize_params(api_client, challenge, resource=API))
    fields = consent_form(page)
    assert fields["resource"] == API
    response = client.post("/o/authorize/", {**fields, "decision": "allow"})
    assert "code" in query_of(response["Location"])
    assert AuthorizationCode.objects.get().resource == API


@pytest.mark.parametrize(
    "resource",
    [UNLISTED, "/relative", "https://api.example.com/#frag", [API, BILLING]],
    ids=["not-allowed", "relative", "fragment", "two"],
)
def test_authorization_endpoint_redirects_invalid_target(client, user, api_client, resource):
    # RFC 8707 §2 with RFC 6749 §4.1.2.1: sent back to the proven redirect URI.
    client.force_login(user)
    _, challenge = pkce_pair()
    response = client.get(
        "/o/authorize/", authorize_params(api_client, challenge, resource=resource)
    )
    assert_redirected_error(response, "invalid_target")
    assert not AuthorizationCode.objects.exists()


# --- Refresh --------------------------------------------------------------------------------


@pytest.fixture
def refresh_token(client, user, api_client) -> str:
    client.force_login(user)
    code, verifier = get_code(client, api_client, resource=API)
    response = redeem(client, api_client, code, verifier)
    assert response.status_code == 200, response.content
    return response.json()["refresh_token"]


def refresh(http, oauth_client, refresh_token: str, **data):
    return token(
        http, oauth_client, grant_type="refresh_token", refresh_token=refresh_token, **data
    )


def test_refresh_keeps_the_resource_the_grant_was_authorized_for(client, api_client, refresh_token):
    # RFC 8707 §2.2: the grant was for API; its refreshes are too, with or without resource.
    for data in ({}, {"resource": API}):
        response = refresh(client, api_client, refresh_token, **data)
        assert response.status_code == 200, response.content
        body = response.json()
        assert claims_of(body["access_token"])["aud"] == API
        assert introspect(client, api_client, body["access_token"])["aud"] == API
        refresh_token = body["refresh_token"]


def test_refresh_may_not_switch_to_another_resource(client, api_client, refresh_token):
    # BILLING is allowed for the client, but this grant was authorized for API only.
    response = refresh(client, api_client, refresh_token, resource=BILLING)
    body = assert_oauth_error(response, "invalid_target")
    assert "original authorization" in body["error_description"]
    # Nothing was written: the refresh token was not rotated and still works.
    assert refresh(client, api_client, refresh_token).status_code == 200


def test_refresh_of_a_grant_without_resource_may_name_any_allowed_one(client, user, api_client):
    client.force_login(user)
    code, verifier = get_code(client, api_client)
    refresh_token = redeem(client, api_client, code, verifier).json()["refresh_token"]

    response = refresh(client, api_client, refresh_token, resource=BILLING)
    assert response.status_code == 200, response.content
    assert claims_of(response.json()["access_token"])["aud"] == BILLING
    # Without resource: the default audience.
    following = refresh(client, api_client, response.json()["refresh_token"])
    assert claims_of(following.json()["access_token"])["aud"] == ISSUER


def test_device_grant_refreshes_keep_its_resource(client, user):
    app = device_app(allowed_resources=[API, BILLING])
    body = start(client, app, resource=API)
    answer(client, user, body["user_code"])
    tokens = poll(client, app, body["device_code"]).json()
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert_oauth_error(token_request(client, app, {**data, "resource": BILLING}), "invalid_target")
    response = token_request(client, app, data)
    assert claims_of(response.json()["access_token"])["aud"] == API


def test_refresh_with_a_resource_not_allowed_is_invalid_target(client, api_client, refresh_token):
    assert_oauth_error(
        refresh(client, api_client, refresh_token, resource=UNLISTED), "invalid_target"
    )
    # Nothing was written: the refresh token was not rotated and still works.
    assert refresh(client, api_client, refresh_token, resource=API).status_code == 200


# --- The resource server --------------------------------------------------------------------


@pytest.fixture
def api_settings(settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "RESOURCE_SERVER": {"AUDIENCE": API}}


@pytest.mark.urls(__name__)
def test_api_accepts_a_token_for_its_audience(client, api_client, api_settings):
    access_token = client_credentials(client, api_client, resource=API).json()["access_token"]
    response = client.get("/api/echo", HTTP_AUTHORIZATION=f"Bearer {access_token}")
    assert response.status_code == 200, response.content
    assert response.json() == {"aud": [API]}


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("resource", [BILLING, None], ids=["other-api", "default-audience"])
def test_api_refuses_a_token_for_another_audience(client, api_client, api_settings, resource):
    # RFC 6750 §3.1 / RFC 9068 §4: a token for another audience is invalid_token.
    data = {"resource": resource} if resource else {}
    access_token = client_credentials(client, api_client, **data).json()["access_token"]
    response = client.get("/api/echo", HTTP_AUTHORIZATION=f"Bearer {access_token}")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


# --- Registration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resources",
    [["/api"], ["https://api.example.com/#x"], [API, "urn"], "https://api.example.com/"],
)
def test_client_clean_refuses_bad_allowed_resources(resources):
    client = ClientFactory.build(allowed_resources=resources)
    with pytest.raises(ValidationError) as info:
        client.clean()
    assert "allowed_resources" in info.value.message_dict


def test_client_clean_accepts_absolute_resources():
    ClientFactory.build(allowed_resources=[API, "urn:example:api"]).clean()


def test_admin_form_takes_one_resource_per_line(admin_client):
    data = {
        "name": "Partner",
        "client_id": "ok_partner-api",
        "client_type": "confidential",
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["client_credentials"],
        "allowed_resources": f"{API}\n\n  {BILLING}  \n{API}\n",
        "access_token_format": "",
        "id_token_signed_response_alg": "RS256",
        "subject_type": "public",
        "is_active": "on",
        "metadata": "{}",
    }
    response = admin_client.post("/admin/oauthkit_provider/client/add/", data)
    assert response.status_code == 200, response.content
    assert Client.objects.get(client_id="ok_partner-api").allowed_resources == [API, BILLING]

    bad = {**data, "client_id": "ok_bad-api", "allowed_resources": "https://api.example.com/#x"}
    response = admin_client.post("/admin/oauthkit_provider/client/add/", bad)
    assert "must not contain a fragment" in response.content.decode()
    assert not Client.objects.filter(client_id="ok_bad-api").exists()


def test_createclient_takes_repeatable_resources():
    out = StringIO()
    call_command(
        "createclient",
        "--name=Billing job",
        "--grant-type=client_credentials",
        f"--resource={API}",
        f"--resource={BILLING}",
        f"--resource={API}",
        "--json",
        stdout=out,
    )
    assert '"allowed_resources"' in out.getvalue()
    assert Client.objects.get(name="Billing job").allowed_resources == [API, BILLING]


def test_createclient_refuses_a_relative_resource():
    with pytest.raises(CommandError, match="allowed_resources"):
        call_command(
            "createclient",
            "--name=Bad",
            "--grant-type=client_credentials",
            "--resource=/api",
            stdout=StringIO(),
        )
    assert not Client.objects.filter(name="Bad").exists()
