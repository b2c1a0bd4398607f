"""Authorization Server Metadata (RFC 8414): the one source of truth for discovery.

Every value is read from what the server really does (the grant registry, the PKCE
policy, the client authentication methods), so the document cannot drift.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpRequest
from django.urls import reverse

from .authorization import RESPONSE_MODES
from .grants.base import grant_registry
from .issuer import get_issuer
from .models import Client
from .pkce import supported_methods
from .scopes import known_scopes

CLIENT_AUTH_METHODS = [m.value for m in Client.AuthMethod]


def endpoint_url(issuer: str, name: str) -> str:
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}{reverse(name)}"


def authorization_server_metadata(request: HttpRequest) -> dict:
    issuer = get_issuer(request)
    secret_methods = [m for m in CLIENT_AUTH_METHODS if m != "none"]
    return {
        "issuer": issuer,
        "authorization_endpoint": endpoint_url(issuer, "oauthkit:authorization"),
        "token_endpoint": endpoint_url(issuer, "oauthkit:token"),
        "jwks_uri": endpoint_url(issuer, "oauthkit:jwks"),
        "revocation_endpoint": endpoint_url(issuer, "oauthkit:revocation"),
        "introspection_endpoint": endpoint_url(issuer, "oauthkit:introspection"),
        "scopes_supported": list(known_scopes()),
        "response_types_supported": ["code"],
        "response_modes_supported": list(RESPONSE_MODES),
        "grant_types_supported": list(grant_registry()),
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": secret_methods,
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
