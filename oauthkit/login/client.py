"""Machine-to-machine client: the client credentials grant (RFC 6749 §4.4), token cached.

::

    from oauthkit.login.client import ClientCredentials

    orders = ClientCredentials(
        "my-service", "its-secret",
        issuer="https://id.example.com",
        scope=["orders:read"],
        resource="https://api.example.com/orders",
    )
    orders.get_token()                                  # cached until shortly before expiry
    orders.request("GET", "https://api.example.com/orders/1")   # Bearer, one retry after 401

One instance holds one token, for its scope, resource and audience; use one instance per
combination. It is thread-safe: callers share the cached token, and when the token must be
renewed one caller asks the provider while the others wait for its answer. Nothing here
needs Django or INSTALLED_APPS. Errors are ``OAuthClientError`` subclasses whose messages never
contain the client secret or a token.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from requests.auth import AuthBase, HTTPBasicAuth
from requests.cookies import extract_cookies_to_jar

from ._client_http import (
    DiscoveryError,
    OAuthClientError,
    ProviderUnreachable,
    TokenRequestError,
    check_endpoint_url,
    discover,
    json_object,
    send,
)

__all__ = [
    "ClientCredentials",
    "DiscoveryError",
    "OAuth2ClientCredentialsAuth",
    "OAuthClientError",
    "ProviderUnreachable",
    "TokenRequestError",
]

logger = logging.getLogger("oauthkit.login.client")

AUTH_METHODS = ("client_secret_basic", "client_secret_post")


@dataclass(frozen=True)
class _Token:
    value: str = field(repr=False)
    # The clock reading after which the token is renewed before use.
    renew_at: float


class _SessionAuthOff(AuthBase):
    """Explicit "no auth" for token requests: keeps a ``session.auth`` that the caller set on
    a shared session (possibly our own bearer auth, which would recurse) off them."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _lifetime(expires_in: Any) -> float | None:
    """``expires_in`` in seconds (RFC 6749 §5.1), or None when absent or unusable. Numeric
    strings are accepted: some providers send them."""
    if isinstance(expires_in, bool):
        return None
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError):
        return None
    return seconds if 0 < seconds < float("inf") else None


class ClientCredentials:
    """A confidential client that gets access tokens with its own credentials.

    Give either ``token_endpoint`` or ``issuer``; with an issuer the token endpoint is read
    from its metadata (RFC 8414, else OpenID Connect Discovery) on first use, and the
    metadata's ``issuer`` must equal ``issuer`` exactly (RFC 8414 §3.3).

    ``scope`` (str or list) is sent space-separated; each ``resource`` (str or list) as its own
    ``resource`` parameter (RFC 8707 §2); ``audience`` as the ``audience`` parameter that
    some providers (Auth0, ...) use instead. ``auth_method`` is ``client_secret_basic``
    (RFC 6749 §2.3.1) or ``client_secret_post``.

    A token is reused until ``expiry_margin`` seconds before its ``expires_in`` runs out (but
    for at least half its life, so a short-lived token is still reused). A token without
    ``expires_in`` is treated as living ``default_expires_in`` seconds. ``clock`` is a
    monotonic clock in seconds (replaceable in tests); ``timeout`` applies to each request
    this client makes. Plain ``http`` URLs are refused except on loopback hosts, unless
    ``allow_insecure_http`` (RFC 6749 §3.2: TLS is required).
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        token_endpoint: str | None = None,
        issuer: str | None = None,
        scope: str | Sequence[str] | None = None,
        resource: str | Sequence[str] | None = None,
        audience: str | None = None,
        auth_method: str = "client_secret_basic",
        timeout: float = 10.0,
        expiry_margin: float = 30.0,
        default_expires_in: float = 300.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        allow_insecure_http: bool = False,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("client_id and client_secret are required.")
        if (token_endpoint is None) == (issuer is None):
            raise ValueError("Give exactly one of token_endpoint and issuer.")
        if auth_method not in AUTH_METHODS:
            raise ValueError(f"auth_method must be one of {', '.join(AUTH_METHODS)}.")
        if expiry_margin < 0 or default_expires_in <= 0:
            raise ValueError("expiry_margin must be >= 0 and default_expires_in > 0.")
        self.client_id = client_id
        self._client_secret = client_secret
        self.issuer = issuer
        self.scope = " ".join(_as_list(scope)) or None
        self.resources = _as_list(resource)
        self.audience = audience
        self.auth_method = auth_method
        self.timeout = timeout
        self.expiry_margin = expiry_margin
        self.default_expires_in = default_expires_in
        self.allow_insecure_http = allow_insecure_http
        self.session = session if session is not None else requests.Session()
        self._clock = clock
        # One lock per instance: one renewal at a time, other instances never wait for it.
        self._lock = threading.Lock()
        self._token: _Token | None = None
        self._token_endpoint = (
            check_endpoint_url(token_endpoint, "token_endpoint", allow_insecure_http, ValueError)
            if token_endpoint is not None
            else None
        )
        if issuer is not None:
            check_endpoint_url(issuer, "issuer", allow_insecure_http, ValueError, issuer=True)
        self.auth = OAuth2ClientCredentialsAuth(self)

    def __repr__(self) -> str:
        where = self.issuer or self._token_endpoint
        return f"<{type(self).__name__} client_id={self.client_id!r} at {where!r}>"

    @property
    def token_endpoint(self) -> str:
        """The token endpoint, discovered from the issuer on first use."""
        if self._token_endpoint is None:
            endpoint = discover(self.issuer, self.session, self.timeout, self.allow_insecure_http)
            self._token_endpoint = endpoint
        return self._token_endpoint

    def get_token(self) -> str:
        """A valid access token: the cached one, or a new one from the token endpoint."""
        token = self._token
        if token is not None and self._clock() < token.renew_at:
            return token.value
        with self._lock:
            # Checked again: another caller may have renewed it while this one waited.
            token = self._token
            if token is None or self._clock() >= token.renew_at:
                token = self._request_token()
                self._token = token
            return token.value

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token, so that the next ``get_token()`` asks for a new one.

        With ``token``, only when that is still the cached one: many callers rejected with
        the same token then cause one renewal, not one each.
        """
        with self._lock:
            if token is None or (self._token is not None and self._token.value == token):
                self._token = None

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """``requests`` through this client's pooled session, with its bearer token."""
        kwargs.setdefault("timeout", self.timeout)
        return self.session.request(method, url, auth=self.auth, **kwargs)

    def _request_token(self) -> _Token:
        endpoint = self.token_endpoint
        data = [("grant_type", "client_credentials")]
        if self.scope:
            data.append(("scope", self.scope))
        # RFC 8707 §2: one `resource` parameter per resource.
        data += [("resource", uri) for uri in self.resources]
        if self.audience:
            data.append(("audience", self.audience))
        auth: AuthBase = _SessionAuthOff()
        if self.auth_method == "client_secret_basic":
            # RFC 6749 §2.3.1: both parts are form-urlencoded before the Basic encoding.
            auth = HTTPBasicAuth(
                quote(self.client_id, safe=""), quote(self._client_secret, safe="")
            )
        else:
            data += [("client_id", self.client_id), ("client_secret", self._client_secret)]
        started = self._clock()
        response = send(
            self.session,
            "POST",
            endpoint,
            timeout=self.timeout,
            data=data,
            auth=auth,
            headers={"Accept": "application/json"},
            # A redirect would resend the credentials somewhere the caller did not name.
            allow_redirects=False,
        )
        body = json_object(response)
        if response.status_code != 200:
            raise TokenRequestError.from_answer(response.status_code, body)
        return self._parse(body, started, response.status_code)

    def _parse(self, body: dict[str, Any] | None, started: float, status: int) -> _Token:
        """RFC 6749 §5.1; the lifetime counts from when the request was sent."""
        value = body.get("access_token") if body else None
        if not isinstance(value, str) or not value:
            raise TokenRequestError("The token endpoint's answer has no access_token.", status)
        token_type = body.get("token_type", "Bearer")
        # RFC 6749 §7.1: the type is case-insensitive; only bearer tokens are sent as such.
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise TokenRequestError(f"Unsupported token_type {token_type!r}.", status)
        lifetime = _lifetime(body.get("expires_in"))
        if lifetime is None:
            lifetime = self.default_expires_in
        margin = min(self.expiry_margin, lifetime / 2)
        logger.debug("Access token for %s, expires in %ss.", self.client_id, lifetime)
        return _Token(value, renew_at=started + lifetime - margin)


class OAuth2ClientCredentialsAuth(AuthBase):
    """``requests`` authentication with a ``ClientCredentials`` token.

    Sends ``Authorization: Bearer`` (RFC 6750 §2.1). After a 401 (e.g. ``invalid_token``,
    RFC 6750 §3.1: revoked or expired early) it drops that token, gets a fresh one and sends
    the request once more; a second 401 is returned to the caller. A request whose body is
    a stream (file, generator) is not sent twice: its 401 is returned, and the next request
    gets a fresh token.
    """

    def __init__(self, client: ClientCredentials) -> None:
        self.client = client

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.client.get_token()}"
        request.register_hook("response", self._retry_after_401)
        return request

    def _retry_after_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        sent = response.request
        if response.status_code != 401:
            return response
        rejected = _bearer_token(sent.headers.get("Authorization"))
        if rejected is None:
            # Not our header (requests drops it on a redirect to another host): never add
            # a token to a request that did not carry one.
            return response
        self.client.invalidate(rejected)
        if not (sent.body is None or isinstance(sent.body, bytes | str)):
            return response
        # As requests' HTTPDigestAuth: release the connection, resend a copy of the request.
        response.content  # noqa: B018 - reads the body so that the connection is reusable
        response.close()
        retry = sent.copy()
        extract_cookies_to_jar(retry._cookies, sent, response.raw)
        retry.prepare_cookies(retry._cookies)
        retry.headers["Authorization"] = f"Bearer {self.client.get_token()}"
        # Straight to the transport adapter, past the hooks: a second 401 is not retried.
        answer = response.connection.send(retry, **kwargs)
        answer.history.append(response)
        answer.request = retry
        return answer


def _bearer_token(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:]
    return None
