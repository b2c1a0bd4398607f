"""Helpers shared by the tests: asserting OAuth errors, PKCE pairs, Basic headers,
and driving the authorization code flow through real requests."""

from __future__ import annotations

import base64
import html
import re
import secrets
import time
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from oauthkit import jose
from oauthkit.provider.keys import key_ring
from oauthkit.provider.pkce import s256

REDIRECT_URI = "https://client.example.com/callback"


def assert_oauth_error(response, error: str, status: int = 400) -> dict:
    """The response is a JSON OAuth error with this code and status, never cached."""
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert body["error"] == error, body
    assert response["Cache-Control"] == "no-store"
    return body


FORM = "application/x-www-form-urlencoded"


def post_form(http, url: str, data: dict, **headers):
    """POST ``data`` as application/x-www-form-urlencoded, as OAuth clients do."""
    return http.post(url, urlencode(data, doseq=True), content_type=FORM, **headers)


def basic(client_id: str, secret: str) -> str:
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def basic_auth(oauth_client) -> dict:
    return {"HTTP_AUTHORIZATION": basic(oauth_client.client_id, oauth_client.raw_secret)}


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, s256(verifier)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def authorize_params(oauth_client, challenge: str | None, **extra) -> dict:
    params = {
        "response_type": "code",
        "client_id": oauth_client.client_id,
        "redirect_uri": oauth_client.redirect_uris[0],
        "scope": "read",
        "state": "xyz",
    }
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def get_code(http, oauth_client, *, scope: str = "read", **extra) -> tuple[str, str]:
    """Run authorize → consent Allow for a logged-in ``http`` client; return (code, verifier)."""
    verifier, challenge = pkce_pair()
    params = authorize_params(oauth_client, challenge, scope=scope, **extra)
    response = http.get("/o/authorize/", params)
    if response.status_code == 200:  # consent page
        response = http.post("/o/authorize/", {**params, "decision": "allow"})
    assert response.status_code in (302, 303), response.content
    query = query_of(response["Location"])
    assert "code" in query, query
    return query["code"], verifier


def redeem(http, oauth_client, code: str, verifier: str, **extra):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": oauth_client.redirect_uris[0],
        "code_verifier": verifier,
        **extra,
    }
    headers = basic_auth(oauth_client) if oauth_client.raw_secret else {}
    if not oauth_client.raw_secret:
        data["client_id"] = oauth_client.client_id
    return post_form(http, "/o/token/", data, **headers)


# --- Authorization endpoint and authorization-code token requests ---------------------------

#: OAUTHKIT["ISSUER"] in tests/settings.py; sent as ``iss`` in authorization responses.
ISSUER = "https://testserver"


def assert_error_page(response) -> None:
    """The authorization endpoint showed its error page and did not redirect.

    RFC 6749 §4.1.2.1: without a proven client and redirect URI, never redirect.
    """
    assert response.status_code == 400, (response.status_code, response.content)
    assert "Location" not in response
    assert "oauthkit/provider/error.html" in [t.name for t in response.templates]


def assert_redirected_error(
    response, error: str, *, redirect_uri: str = REDIRECT_URI, state: str | None = "xyz"
) -> dict[str, str]:
    """The authorization endpoint sent ``error`` back to ``redirect_uri`` with
    error_description, state (RFC 6749 §4.1.2.1) and iss (RFC 9207 §2); returns the query."""
    assert response.status_code in (302, 303), (response.status_code, response.content)
    location = response["Location"]
    assert location.startswith(redirect_uri + ("&" if "?" in redirect_uri else "?")), location
    query = query_of(location)
    assert query["error"] == error, query
    assert query["error_description"]
    assert query.get("state") == state
    assert query["iss"] == ISSUER
    assert "code" not in query
    return query


def consent_form(response) -> dict[str, str | list[str]]:
    """The hidden fields and ticked checkboxes (lists) of a consent page's form, as the
    browser would post them."""
    assert response.status_code == 200, (response.status_code, response.content)
    text = response.content.decode()
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', text)
    form: dict[str, str | list[str]] = {name: html.unescape(value) for name, value in fields}
    boxes = re.findall(r'<input type="checkbox" name="([^"]+)" value="([^"]*)"[^>]* checked>', text)
    for name, value in boxes:
        form.setdefault(name, []).append(html.unescape(value))
    return form


def token_request(http, oauth_client, data: dict, **headers):
    """POST ``data`` to the token endpoint, authenticated the way ``oauth_client`` registered
    (Basic, client_secret_post or client_id only). ``None`` values are left out."""
    data = {k: v for k, v in data.items() if v is not None}
    method = oauth_client.token_endpoint_auth_method
    if method == "client_secret_basic":
        headers = {**basic_auth(oauth_client), **headers}
    elif method == "client_secret_post":
        data.update(client_id=oauth_client.client_id, client_secret=oauth_client.raw_secret)
    else:
        data["client_id"] = oauth_client.client_id
    return post_form(http, "/o/token/", data, **headers)


# --- OpenID Connect authorization requests ---------------------------------------------------


def log_in_through_form(http, next_url: str, username: str = "alice"):
    """Sign in through the real /accounts/login/ form (user_logged_in records auth_time)
    and return the login view's redirect to ``next_url``."""
    response = http.post(
        "/accounts/login/", {"username": username, "password": "password", "next": next_url}
    )
    assert response.status_code == 302, response.content
    assert response["Location"] == next_url
    return response


def login_redirect_query(response) -> dict[str, str]:
    """The query of a redirect to /accounts/login/ (``next``, ``login_hint`` ...)."""
    assert response.status_code == 302, (response.status_code, response.content)
    assert urlsplit(response["Location"]).path == "/accounts/login/", response["Location"]
    return query_of(response["Location"])


def sign_id_token(oauth_client, sub: str, key=None, **claims) -> str:
    """An ID token as this server would sign it, for ``id_token_hint``."""
    now = int(time.time())
    values = {"iss": ISSUER, "sub": sub, "aud": oauth_client.client_id, "iat": now}
    values.update({"exp": now + 300, **claims})
    return jose.sign(values, key or key_ring.signing_key(), typ="JWT")


def form_post_of(response) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of a form_post response page."""
    assert response.status_code == 200, (response.status_code, response.content)
    assert "oauthkit/provider/form_post.html" in [t.name for t in response.templates]
    action = re.search(r'<form method="post" action="([^"]*)">', response.content.decode())
    assert action, response.content
    return html.unescape(action.group(1)), consent_form(response)


def bearer(token: str) -> dict[str, str]:
    """Test-client keyword arguments sending ``token`` as a bearer token (RFC 6750 §2.1)."""
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def cc_token(http, oauth_client, scope: str | None = None, **extra) -> str:
    """An access token from the client-credentials grant (no user), from /o/token/."""
    data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    response = post_form(http, "/o/token/", data, **basic_auth(oauth_client), **extra)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]
