"""HTTP plumbing of the machine-to-machine client (``client.py``): its errors, URL checks,
JSON answers and reading a provider's metadata (RFC 8414 / OpenID Connect Discovery)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import requests

logger = logging.getLogger("oauthkit.login.client")

# RFC 8252 §8.3 and RFC 6749 §3.1: plain http only where nothing leaves the machine.
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


class OAuthClientError(Exception):
    """Base of the login client's errors. Messages never contain a secret or a token."""


class ProviderUnreachable(OAuthClientError):
    """The provider could not be reached (connection, TLS, timeout); ``__cause__`` is the
    ``requests`` exception."""


class DiscoveryError(OAuthClientError):
    """The issuer's metadata is missing, malformed or names another issuer (RFC 8414 §3)."""


class TokenRequestError(OAuthClientError):
    """The token endpoint refused (RFC 6749 §5.2) or gave an unusable answer.

    ``error``, ``error_description`` and ``error_uri`` are the provider's, when it sent
    them; ``status`` is the HTTP status.
    """

    def __init__(
        self,
        message: str,
        status: int,
        *,
        error: str | None = None,
        error_description: str | None = None,
        error_uri: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.error_description = error_description
        self.error_uri = error_uri

    @classmethod
    def from_answer(cls, status: int, body: dict[str, Any] | None) -> TokenRequestError:
        """The error of a non-200 token response, from its RFC 6749 §5.2 JSON if any."""
        body = body or {}
        fields = {
            name: value if isinstance(value, str) else None
            for name in ("error", "error_description", "error_uri")
            for value in [body.get(name)]
        }
        if fields["error"]:
            message = f"Token request refused (HTTP {status}): {fields['error']}"
            if fields["error_description"]:
                # Shortened: it is the provider's text, and ends up in logs.
                message += f": {fields['error_description'][:200]}"
        else:
            message = f"Token request failed: HTTP {status} without an OAuth error."
        logger.warning("%s", message)
        return cls(message, status, **fields)


def check_endpoint_url(
    url: Any, name: str, allow_http: bool, error: type[Exception], *, issuer: bool = False
) -> str:
    """``url`` if it is an absolute https URL (or http on a loopback host, or anywhere with
    ``allow_http``), else ``error``. An issuer has no query or fragment (RFC 8414 §2)."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or not parts.hostname:
        raise error(f"{name} must be an absolute URL, not {url!r}.")
    plain_ok = allow_http or parts.hostname in LOOPBACK_HOSTS
    if parts.scheme != "https" and not (parts.scheme == "http" and plain_ok):
        # RFC 6749 §3.2 / §2.3.1: credentials and tokens travel only over TLS.
        raise error(f"{name} must use https: {url!r}.")
    if issuer and (parts.query or parts.fragment):
        raise error(f"{name} must have no query or fragment: {url!r}.")
    return url


def send(session: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
    """``session.request``; network failures become ``ProviderUnreachable`` (the request's
    headers and body, which may hold credentials, are not part of the message)."""
    try:
        return session.request(method, url, **kwargs)
    except requests.RequestException as exc:
        logger.warning("%s %s failed: %s", method, url, type(exc).__name__)
        raise ProviderUnreachable(f"{method} {url} failed: {type(exc).__name__}.") from exc


def json_object(response: requests.Response) -> dict[str, Any] | None:
    """The response's JSON object, or None when its body is not one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def metadata_urls(issuer: str) -> list[str]:
    """Where an issuer's metadata may be, in the order they are tried."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    return [
        # RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path.
        f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server{path}",
        # OpenID Connect Discovery 1.0 §4: appended to the issuer.
        f"{issuer.rstrip('/')}/.well-known/openid-configuration",
    ]


def discover(issuer: str, session: requests.Session, timeout: float, allow_http: bool) -> str:
    """The token endpoint named by ``issuer``'s metadata, or ``DiscoveryError``.

    The next location is tried only when one answers with an error status; an answer whose
    ``issuer`` differs from the configured one stops discovery (RFC 8414 §3.3).
    """
    failures = []
    for url in metadata_urls(issuer):
        response = send(
            session, "GET", url, timeout=timeout, headers={"Accept": "application/json"}
        )
        if response.status_code != 200:
            failures.append(f"{url} answered HTTP {response.status_code}")
            continue
        metadata = json_object(response)
        if metadata is None:
            raise DiscoveryError(f"{url} did not answer a JSON object.")
        if metadata.get("issuer") != issuer:
            raise DiscoveryError(
                f"{url} names the issuer {metadata.get('issuer')!r}, not {issuer!r} "
                "(RFC 8414 §3.3)."
            )
        endpoint = metadata.get("token_endpoint")
        if endpoint is None:
            raise DiscoveryError(f"{url} names no token_endpoint.")
        return check_endpoint_url(endpoint, "token_endpoint", allow_http, DiscoveryError)
    raise DiscoveryError("No metadata for the issuer: " + "; ".join(failures) + ".")
