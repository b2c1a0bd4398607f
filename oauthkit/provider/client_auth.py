"""Client authentication at the token, revocation, introspection and device endpoints.

RFC 6749 §2.3.1 (client_secret_basic, client_secret_post), RFC 7523 §2.2 with OpenID
Connect Core §9 (private_key_jwt, ``client_assertion.py``) and §2.1 (public clients,
method ``none``). A client must use the method it registered; one request may use only
one method (RFC 6749 §2.3).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote_plus

from django.http import HttpRequest, QueryDict

from .client_assertion import ASSERTION_TYPE, unverified_subject, verify_client_assertion
from .client_cache import get_active_client
from .errors import InvalidClient, InvalidRequest
from .models import Client


@dataclass(frozen=True)
class Credentials:
    """What a request presents, nothing checked yet: the method, the client_id, and the
    secret or the assertion."""

    method: str
    client_id: str
    secret: str | None = None
    assertion: str | None = None

    def __repr__(self) -> str:
        # Never show the secret or the assertion (in tracebacks or logs).
        return f"Credentials(method={self.method!r}, client_id={self.client_id!r})"


def read_credentials(request: HttpRequest, params: QueryDict) -> Credentials:
    """The credentials as the request presents them; nothing is verified yet."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    used_basic = scheme.lower() == "basic"
    if "client_assertion" in params or "client_assertion_type" in params:
        return _read_assertion(params, used_basic=used_basic)
    if used_basic:
        if "client_secret" in params:
            raise InvalidRequest("Use only one client authentication method.")
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
            raw_id, sep, raw_secret = decoded.partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidClient("Malformed Basic credentials.", used_basic=True) from None
        if not sep:
            raise InvalidClient("Malformed Basic credentials.", used_basic=True)
        # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if params.get("client_id", client_id) != client_id:
            raise InvalidRequest("client_id does not match the Basic credentials.")
        return Credentials(Client.AuthMethod.CLIENT_SECRET_BASIC, client_id, secret=secret)
    client_id = params.get("client_id", "")
    if not client_id:
        raise InvalidClient("Client authentication is required.")
    if "client_secret" in params:
        return Credentials(
            Client.AuthMethod.CLIENT_SECRET_POST, client_id, secret=params["client_secret"]
        )
    return Credentials(Client.AuthMethod.NONE, client_id)


def _read_assertion(params: QueryDict, *, used_basic: bool) -> Credentials:
    # RFC 6749 §2.3 and §5.2: more than one method in a request is invalid_request.
    if used_basic or "client_secret" in params:
        raise InvalidRequest("Use only one client authentication method.")
    # RFC 7521 §4.2: the type names the assertion format; only JWTs are understood here.
    if params.get("client_assertion_type") != ASSERTION_TYPE:
        raise InvalidClient(f"client_assertion_type must be {ASSERTION_TYPE}.")
    assertion = params.get("client_assertion", "")
    if not assertion:
        raise InvalidClient("client_assertion is required.")
    subject = unverified_subject(assertion)
    # RFC 7523 §3: client_id is optional, and when sent it is the assertion's subject.
    if params.get("client_id", subject) != subject:
        raise InvalidClient("client_id does not match the client assertion.")
    return Credentials(Client.AuthMethod.PRIVATE_KEY_JWT, subject, assertion=assertion)


def authenticate_client(request: HttpRequest, params: QueryDict) -> Client:
    """The authenticated client, or ``InvalidClient`` (401 with Basic, RFC 6749 §5.2)."""
    credentials = read_credentials(request, params)
    method = credentials.method
    used_basic = method == Client.AuthMethod.CLIENT_SECRET_BASIC
    client = get_active_client(credentials.client_id)
    if client is None:
        raise InvalidClient("Unknown client.", used_basic=used_basic)
    if method != client.token_endpoint_auth_method:
        raise InvalidClient(
            f"This client authenticates with {client.token_endpoint_auth_method}.",
            used_basic=used_basic,
        )
    if method == Client.AuthMethod.NONE:
        if not client.is_public:
            raise InvalidClient("Client authentication is required.")
    elif method == Client.AuthMethod.PRIVATE_KEY_JWT:
        verify_client_assertion(request, client, credentials.assertion or "")
    elif not client.check_secret(credentials.secret or ""):
        raise InvalidClient("Client authentication failed.", used_basic=used_basic)
    return client
