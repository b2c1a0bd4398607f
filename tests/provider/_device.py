"""Helpers of the device flow tests (RFC 8628): start, approve through the page, poll."""

from __future__ import annotations

from oauthkit.provider.models import DeviceAuthorization
from oauthkit.testing.factories import ClientFactory
from tests.helpers import basic_auth, post_form, token_request

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
VERIFY_URL = "/o/device/verify/"


def device_app(**fields):
    """A public device client (a TV app, a CLI) with the device and refresh grants."""
    values = {
        "public": True,
        "name": "TV App",
        "redirect_uris": [],
        "grant_types": [DEVICE_GRANT, "refresh_token"],
        "scopes": ["openid", "profile", "email", "read", "write"],
    }
    values.update(fields)
    return ClientFactory(**values)


def device_request(http, oauth_client, data: dict | None = None, **headers):
    """POST to the device authorization endpoint, authenticated as ``oauth_client`` registered
    (Basic, client_secret_post or client_id only). ``None`` values are left out."""
    data = {k: v for k, v in (data or {}).items() if v is not None}
    method = oauth_client.token_endpoint_auth_method
    if method == "client_secret_basic":
        headers = {**basic_auth(oauth_client), **headers}
    elif method == "client_secret_post":
        data.update(client_id=oauth_client.client_id, client_secret=oauth_client.raw_secret)
    else:
        data["client_id"] = oauth_client.client_id
    return post_form(http, "/o/device/", data, **headers)


def start(http, oauth_client, scope: str | None = "openid read", **extra) -> dict:
    """Start a device authorization; the §3.2 response body."""
    response = device_request(http, oauth_client, {"scope": scope, **extra})
    assert response.status_code == 200, response.content
    return response.json()


def poll(http, oauth_client, device_code: str, **extra):
    """One token request of the polling device (RFC 8628 §3.4)."""
    data = {"grant_type": DEVICE_GRANT, "device_code": device_code, **extra}
    return token_request(http, oauth_client, data)


def answer(http, user, user_code: str, decision: str = "allow"):
    """``user`` signs in and allows (or denies) ``user_code`` on the verification page."""
    http.force_login(user)
    response = http.post(VERIFY_URL, {"user_code": user_code, "decision": decision})
    assert response.status_code == 200, response.content
    return response


def the_authorization() -> DeviceAuthorization:
    return DeviceAuthorization.objects.get()
