"""Authorization Server Metadata (RFC 8414): the one source of truth for discovery.

Every value is read from what the server really does (the grant registry, the PKCE
policy, the client authentication methods), so the document cannot drift.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpRequest
from django.urls import reverse

from ..conf import oauthkit_settings
from ._oidc_parameters import response_modes_supported, response_types_supported
from .client_jwks import ALGORITHMS as CLIENT_ASSERTION_ALGORITHMS
from .device import DEVICE_CODE_GRANT_TYPE
from .grants.base import grant_registry
from .issuer import get_issuer
from .models import Client
from .pkce import supported_methods
from .scopes import known_scopes

CLIENT_AUTH_METHODS = [m.value for m in Client.AuthMethod]


def endpoint_url(issuer: str, name: str) -> str:
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}{reverse(name)}"


def device_authorization_endpoint(issuer: str) -> dict[str, str]:
    """RFC 8628 §4: the device endpoint, while the device_code grant is registered."""
    if DEVICE_CODE_GRANT_TYPE not in grant_registry():
        return {}
    return {"device_authorization_endpoint": endpoint_url(issuer, "oauthkit:device_authorization")}


def implicit_grant_type() -> list[str]:
    """RFC 8414 §2: "implicit" while front-channel response types are offered."""
    return ["implicit"] if oauthkit_settings.ALLOW_IMPLICIT_FLOW else []


def authorization_server_metadata(request: HttpRequest) -> dict:
    issuer = get_issuer(request)
    # Introspection is for confidential clients: a secret or a private key.
    confidential_methods = [m for m in CLIENT_AUTH_METHODS if m != "none"]
    assertion_algs = list(CLIENT_ASSERTION_ALGORITHMS)
    return {
        "issuer": issuer,
        "authorization_endpoint": endpoint_url(issuer, "oauthkit:authorization"),
        "token_endpoint": endpoint_url(issuer, "oauthkit:token"),
        "jwks_uri": endpoint_url(issuer, "oauthkit:jwks"),
        "revocation_endpoint": endpoint_url(issuer, "oauthkit:revocation"),
        "introspection_endpoint": endpoint_url(issuer, "oauthkit:introspection"),
        **device_authorization_endpoint(issuer),
        "scopes_supported": list(known_scopes()),
        # Implicit and hybrid response types only while ALLOW_IMPLICIT_FLOW is on.
        "response_types_supported": response_types_supported(),
        "response_modes_supported": response_modes_supported(),
        "grant_types_supported": list(grant_registry()) + implicit_grant_type(),
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": confidential_methods,
        # RFC 8414 §2: required with private_key_jwt; the algorithms of client assertions.
        "token_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "revocation_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "introspection_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "code_challenge_methods_supported": supported_methods(),
        "authorization_response_iss_parameter_supported": True,
    }


def openid_configuration(request: HttpRequest) -> dict:
    """OpenID Provider Metadata (Discovery 1.0 §3): the RFC 8414 document plus the
    OpenID Connect members, from the same sources."""
    from .claims import claims_supported
    from .keys import key_ring

    metadata = authorization_server_metadata(request)
    return {
        **metadata,
        "userinfo_endpoint": endpoint_url(metadata["issuer"], "oauthkit:userinfo"),
        # RP-Initiated Logout §2.1, Back-Channel Logout §2.1 (logout tokens carry sid).
        "end_session_endpoint": endpoint_url(metadata["issuer"], "oauthkit:end_session"),
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": key_ring.current().signing_algorithms,
        "claims_supported": claims_supported(),
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": True,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        # Discovery §3: these default to true, so say false explicitly.
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }
