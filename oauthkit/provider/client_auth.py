"""Client authentication at the token, revocation and introspection endpoints.

RFC 6749 §2.3.1 (client_secret_basic, client_secret_post) and §2.1 (public clients,
method ``none``). A client must use the method it registered; one request may use
only one method.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from django.http import HttpRequest, QueryDict

from .client_cache import get_active_client
from .errors import InvalidClient, InvalidRequest
from .models import Client


def read_credentials(request: HttpRequest, params: QueryDict) -> tuple[str, str, str | None]:
    """(method, client_id, secret) as the request presents them; nothing is checked yet."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
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
        return Client.AuthMethod.CLIENT_SECRET_BASIC, client_id, secret
    client_id = params.get("client_id", "")
    if not client_id:
        raise InvalidClient("Client authentication is required.")
    if "client_secret" in params:
        return Client.AuthMethod.CLIENT_SECRET_POST, client_id, params["client_secret"]
    return Client.AuthMethod.NONE, client_id, None


def authenticate_client(request: HttpRequest, params: QueryDict) -> Client:
    """The authenticated client, or ``InvalidClient`` (401 with Basic, RFC 6749 §5.2)."""
    method, client_id, secret = read_credentials(request, params)
    used_basic = method == Client.AuthMethod.CLIENT_SECRET_BASIC
    client = get_active_client(client_id)
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
    elif not client.check_secret(secret or ""):
        raise InvalidClient("Client authentication failed.", used_basic=used_basic)
    return client
