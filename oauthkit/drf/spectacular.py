"""drf-spectacular support: an ``oauth2`` security scheme for ``OAuth2Authentication``.

Install the extra (``pip install "oauthkit[spectacular]"``) and import this module once,
where it runs after Django is set up; the import registers the extension, as every
drf-spectacular extension does (the URLconf is a good place)::

    # urls.py
    import oauthkit.drf.spectacular  # noqa: F401  (registers the OpenAPI extension)

The schema then gets ``components.securitySchemes.oauth2`` with the provider's flows
(``authorizationCode``, ``clientCredentials``) built from its metadata (RFC 8414): in local
mode from this project's endpoints, in remote mode from the provider's metadata document
(fetched when the schema is built; an unreachable provider raises ``ProviderUnavailable``).
The ``scopes`` map is ``OAUTHKIT["SCOPES"]``. Each operation lists the scopes it requires,
read from the view's permission classes: no per-view code.

The ``openapi_scopes`` protocol
-------------------------------
A permission class (or instance) tells the schema what it requires by defining::

    def openapi_scopes(self, view, method: str) -> list[list[str]] | None: ...

- ``method`` is the HTTP method in upper case (``"GET"``); ``view`` is the view instance
  drf-spectacular builds (it has ``request`` but no real URL kwargs).
- The result is a list of alternatives; each alternative is a list of scopes that are all
  required. ``[["read:users"], ["admin:all"]]`` reads "read:users, or else admin:all".
- ``None`` means "not a scope permission here" (no scope constraint for this method).
  ``[]`` (or ``[[]]``) means a token is enough, whatever its scopes.
- Dynamic scopes stay templated: ``read:project:{project_id}`` is returned as is.
- The method may be a plain method, a classmethod or a staticmethod-like callable; it
  must not touch the database or a real request.

DRF's composed permissions are followed: ``A & B`` requires one alternative of each
(alternatives are combined pairwise), ``A | B`` offers the alternatives of both (an operand
that is not a scope permission adds the alternative "no scope"), ``~A`` adds no scope
requirement. The permission classes of a view are combined with AND, as DRF checks them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import permissions

Alternatives = list[list[str]]

__all__ = [
    "OAuth2Scheme",
    "oauth2_flows",
    "permission_scopes",
    "view_scopes",
]


def _unique(alternatives: Iterable[list[str]]) -> Alternatives:
    seen: dict[tuple[str, ...], list[str]] = {}
    for alternative in alternatives:
        seen.setdefault(tuple(alternative), list(alternative))
    return list(seen.values())


def _and(left: Alternatives | None, right: Alternatives | None) -> Alternatives | None:
    if left is None:
        return right
    if right is None:
        return left
    # Every permission must pass: one alternative of each side, all their scopes together.
    return _unique(list(dict.fromkeys([*a, *b])) for a in left for b in right)


def _or(left: Alternatives | None, right: Alternatives | None) -> Alternatives | None:
    if left is None and right is None:
        return None
    # A side without a scope constraint lets a token through with no particular scope.
    return _unique([*(left if left is not None else [[]]), *(right if right is not None else [[]])])


def _normalise(result: Any) -> Alternatives | None:
    if result is None:
        return None
    result = list(result)
    if all(isinstance(item, str) for item in result):
        # A flat list of scopes (or []) is one alternative: be lenient with a common slip.
        return [result]
    return _unique([str(scope) for scope in alternative] for alternative in result)


def permission_scopes(permission: Any, view: Any, method: str) -> Alternatives | None:
    """The scope alternatives one permission (instance or class) requires; see the protocol."""
    if isinstance(permission, permissions.AND):
        return _and(
            permission_scopes(permission.op1, view, method),
            permission_scopes(permission.op2, view, method),
        )
    if isinstance(permission, permissions.OR):
        return _or(
            permission_scopes(permission.op1, view, method),
            permission_scopes(permission.op2, view, method),
        )
    if isinstance(permission, permissions.NOT):
        return None
    openapi_scopes = getattr(permission, "openapi_scopes", None)
    if not callable(openapi_scopes):
        return None
    return _normalise(openapi_scopes(view, method))


def view_scopes(view: Any, method: str) -> Alternatives | None:
    """The scope alternatives of a view's operation: its permissions, combined with AND."""
    required: Alternatives | None = None
    for permission in view.get_permissions():
        required = _and(required, permission_scopes(permission, view, method))
    return required


def oauth2_flows(request=None) -> dict[str, dict[str, Any]]:
    """OpenAPI OAuth flows from the provider's metadata (RFC 8414), with the scopes map."""
    from ..conf import oauthkit_settings

    if oauthkit_settings.RESOURCE_SERVER["MODE"] == "remote":
        from .._remote import metadata as remote_metadata

        metadata = remote_metadata()
    else:
        from ..provider.metadata import authorization_server_metadata

        metadata = authorization_server_metadata(request)
    scopes = {name: str(description) for name, description in oauthkit_settings.SCOPES.items()}
    # RFC 8414 §2: an absent grant_types_supported means ["authorization_code", "implicit"].
    grants = metadata.get("grant_types_supported") or ["authorization_code", "implicit"]
    authorization_url = metadata.get("authorization_endpoint")
    token_url = metadata.get("token_endpoint")
    flows: dict[str, dict[str, Any]] = {}
    if "authorization_code" in grants and authorization_url and token_url:
        flow = {"authorizationUrl": authorization_url, "tokenUrl": token_url}
        if "refresh_token" in grants:
            flow["refreshUrl"] = token_url
        flows["authorizationCode"] = {**flow, "scopes": scopes}
    if "client_credentials" in grants and token_url:
        flows["clientCredentials"] = {"tokenUrl": token_url, "scopes": scopes}
    return flows


class OAuth2Scheme(OpenApiAuthenticationExtension):
    """The ``oauth2`` security scheme and each operation's required scopes."""

    target_class = "oauthkit.drf.authentication.OAuth2Authentication"
    match_subclasses = True
    name = "oauth2"

    def get_security_requirement(self, auto_schema):
        alternatives = view_scopes(auto_schema.view, auto_schema.method.upper())
        if not alternatives:
            # No scope permission: a valid token is required, whatever its scopes.
            return {self.name: []}
        return [{self.name: scopes} for scopes in alternatives]

    def get_security_definition(self, auto_schema):
        request = getattr(auto_schema.view, "request", None)
        return {"type": "oauth2", "flows": oauth2_flows(request)}
