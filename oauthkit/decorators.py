"""Scope checks for plain Django views: ``@scope_required(...)`` and ``ScopeRequiredMixin``.

The same rules and answers as the DRF classes (``oauthkit.drf``), for views without DRF::

    @scope_required("read:users", "write:users")          # every scope
    @scope_required(any_of=["read:users", "admin:all"])   # one of them
    @scope_required({"GET": [["read:users"], ["admin:all"]], "DELETE": [["delete:users"]]})
    @scope_required("read:project:{project_id}")          # from the URL kwargs

Answers (RFC 6750 §3.1): no token, 401 with a bare ``WWW-Authenticate: Bearer realm=...``;
a bad token, 401 ``invalid_token``; a token without the scopes, 403 ``insufficient_scope``
with the ``scope`` that would be enough; the provider unreachable (remote mode), 503.
The view then sees ``request.auth`` (a ``ValidatedToken``) and ``request.user`` (the
token's user, loaded on first use).

The views only accept bearer tokens, never the session cookie, so they are exempt from
Django's CSRF check (as DRF exempts its views for non-session authentication).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import wraps
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from .bearer import MalformedRequest, error_response, get_bearer_token
from .resource import InvalidToken, ProviderUnavailable, validate_bearer_token
from .scope_rules import (
    INSUFFICIENT_SCOPE_DESCRIPTION,
    REFUSED,
    Requirement,
    all_of,
    any_of,
    by_method,
    scope_tuple,
)

#: What a view needs for a request method; None refuses the method.
RequirementFor = Callable[[str], Requirement | None]


def authorize(
    request: HttpRequest, requirement: Requirement | None, kwargs: Mapping[str, Any]
) -> HttpResponse | None:
    """Authenticate ``request`` by its bearer token and check ``requirement``.

    Returns the error response to send, or None after setting ``request.auth`` and
    ``request.user`` for the view. ``kwargs`` fill in dynamic scopes.
    """
    try:
        raw = get_bearer_token(request)
    except MalformedRequest as exc:
        return error_response(400, "invalid_request", str(exc))
    if raw is None:
        return error_response(401, None)  # RFC 6750 §3.1: no error code without a token
    try:
        token = validate_bearer_token(raw, request)
    except InvalidToken as exc:
        return error_response(401, "invalid_token", exc.description)
    except ProviderUnavailable:
        body = {
            "error": "temporarily_unavailable",
            "error_description": _("The authorization server cannot be reached."),
        }
        return JsonResponse(body, status=503)
    request.auth = token
    request.user = token.user()  # lazy: no query until the view uses it
    verdict = requirement.check(token.scopes, kwargs) if requirement is not None else REFUSED
    if verdict.allowed:
        return None
    if verdict.scope is not None:
        return error_response(
            403, "insufficient_scope", INSUFFICIENT_SCOPE_DESCRIPTION, verdict.scope
        )
    # A method the view does not allow for any scope.
    return JsonResponse({"detail": _("This request is not allowed.")}, status=403)


def requirement_source(
    scopes: tuple[Any, ...], any_scopes: Iterable[str] | None, what: str
) -> RequirementFor:
    """Turn ``scope_required``'s arguments into a per-method lookup, checked once."""
    if any_scopes is not None:
        if scopes:
            raise ImproperlyConfigured(f"{what}: give scopes or any_of, not both.")
        requirement = any_of(scope_tuple(any_scopes, f"{what} any_of"))
        return lambda method: requirement
    if len(scopes) == 1 and isinstance(scopes[0], Mapping):
        requirements = by_method(scopes[0])
        return requirements.get
    requirement = all_of(scope_tuple(scopes, what))
    return lambda method: requirement


def scope_required(*scopes: str | Mapping, any_of: Iterable[str] | None = None):
    """Protect a function view with a bearer token holding scopes; see the module docstring.

    ``scope_required(*scopes)`` needs every scope (none: any valid token);
    ``scope_required(any_of=[...])`` one of them; ``scope_required({method: alternatives})``
    per method, where each alternative is a list of scopes all required and an unlisted
    method is refused.
    """
    if len(scopes) == 1 and callable(scopes[0]):
        raise TypeError("Use @scope_required(...) with parentheses.")
    requirement_for = requirement_source(scopes, any_of, "scope_required")

    def decorator(view_func):
        @wraps(view_func)
        def wrapped(request, *args, **kwargs):
            refusal = authorize(request, requirement_for(request.method), kwargs)
            if refusal is not None:
                return refusal
            return view_func(request, *args, **kwargs)

        return csrf_exempt(wrapped)

    return decorator


class ScopeRequiredMixin:
    """Class-based views: ``required_scopes`` (all needed) or ``required_alternate_scopes``
    (per method, as ``TokenMatchesScopes``); scopes may name URL kwargs in braces.

    Put it first: ``class UserView(ScopeRequiredMixin, View)``.
    """

    required_scopes: Iterable[str] | None = None
    required_alternate_scopes: Mapping[str, Iterable[Iterable[str]]] | None = None

    @classmethod
    def as_view(cls, **initkwargs):
        return csrf_exempt(super().as_view(**initkwargs))

    def get_scope_requirement(self, request: HttpRequest) -> Requirement | None:
        """What this request needs; None refuses it."""
        if self.required_alternate_scopes is not None:
            return by_method(self.required_alternate_scopes).get(request.method)
        return all_of(scope_tuple(self.required_scopes, f"{type(self).__name__}.required_scopes"))

    def dispatch(self, request, *args, **kwargs):
        refusal = authorize(request, self.get_scope_requirement(request), kwargs)
        if refusal is not None:
            return refusal
        return super().dispatch(request, *args, **kwargs)
