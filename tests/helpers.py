"""Helpers shared by the tests: asserting OAuth errors, PKCE pairs, Basic headers,
and driving the authorization code flow through real requests."""

from __future__ import annotations

import base64
import secrets
from urllib.parse import parse_qs, quote, urlencode, urlsplit

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
