"""Scope permissions for DRF views (RFC 6750 §3.1), used with ``OAuth2Authentication``.

Each class is parameterised either by view attributes (``required_scopes``,
``resource_name``, ``required_alternate_scopes``) or by ``.require(...)``, which returns a
new subclass for ``permission_classes``::

    permission_classes = [TokenHasScope.require("read:users") | TokenHasScope.require("admin:all")]

Scopes may name URL kwargs: ``TokenHasScope.require("read:project:{project_id}")``.

Responses:

- no token (and no other authenticator succeeded): DRF's 401 with the first
  authenticator's challenge, a bare ``WWW-Authenticate: Bearer realm="api"`` (RFC 6750 §3.1:
  no error code when no credentials were sent). Put ``OAuth2Authentication`` first.
- a token without the scopes: 403 with
  ``WWW-Authenticate: Bearer error="insufficient_scope", scope="..."``, where ``scope`` is
  one set of scopes that would be enough (the first alternative).

How the 403 gets its header: the permission raises ``InsufficientScope``, a
``PermissionDenied`` whose ``auth_header`` is the challenge. DRF's default exception handler
(``rest_framework.views.exception_handler``) copies ``auth_header`` into
``WWW-Authenticate`` for any status, so this works with the default handler and with custom
handlers that call it, and needs no view mixin or middleware.

Raising inside ``has_permission`` must not change what ``|`` and ``~`` decide, so these
classes compose through their own metaclass: ``A | B``, ``A & B`` and ``~A``, with ``A`` or
``B`` one of ours and the other any DRF permission, build ``AnyOf`` / ``AllOf`` / ``Not``
classes that evaluate their operands without raising and raise once for the whole
expression. Only an expression that starts with a DRF-only group in parentheses,
``(IsAdminUser | IsStaff) & TokenHasScope.require("x")``, is built by DRF's operators: it
decides right and its 403 carries the challenge, but do not then negate it or put it on the
left of ``|`` (our class would raise before the right side is tried). Write the oauthkit
class first: ``TokenHasScope.require("x") & (IsAdminUser | IsStaff)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.permissions import AND, NOT, OR, BasePermission, BasePermissionMetaclass

from ..bearer import www_authenticate
from ..conf import oauthkit_settings
from ..resource import ValidatedToken
from ..scope_rules import (
    ALLOWED,
    INSUFFICIENT_SCOPE_DESCRIPTION,
    REFUSED,
    SAFE_METHODS,
    Requirement,
    Verdict,
    all_of,
    any_of,
    by_method,
    resource_requirement,
    scope_tuple,
)


class InsufficientScope(exceptions.PermissionDenied):
    """403 ``insufficient_scope`` carrying its RFC 6750 §3.1 challenge as ``auth_header``."""

    default_detail = _("The access token does not have the scope this request needs.")
    default_code = "insufficient_scope"

    def __init__(self, scope: str, detail: Any = None):
        super().__init__(detail)
        self.scope = scope
        # Read by DRF's default exception handler for any status, not only 401.
        self.auth_header = www_authenticate(
            "insufficient_scope", INSUFFICIENT_SCOPE_DESCRIPTION, scope
        )


class ScopePermissionMetaclass(BasePermissionMetaclass):
    """``&``, ``|`` and ``~`` on scope permissions build ``AllOf``, ``AnyOf`` and ``Not``.

    It subclasses DRF's metaclass, so Python prefers its reflected operators when a DRF
    class is on the left (``IsAdminUser | TokenHasScope``).
    """

    def __and__(cls, other):
        return _compose(AllOf, "&", cls, other)

    def __rand__(cls, other):
        return _compose(AllOf, "&", other, cls)

    def __or__(cls, other):
        return _compose(AnyOf, "|", cls, other)

    def __ror__(cls, other):
        return _compose(AnyOf, "|", other, cls)

    def __invert__(cls):
        return _compose(Not, "~", cls)


class ScopePermission(BasePermission, metaclass=ScopePermissionMetaclass):
    """Base class: decide in ``check()``; a refusal for lack of scope raises
    ``InsufficientScope``."""

    def check(self, request, view) -> Verdict:
        """Allowed, or refused with the scopes that would be enough (if any would)."""
        raise NotImplementedError

    def has_permission(self, request, view) -> bool:
        verdict = self.check(request, view)
        if verdict.allowed:
            return True
        if verdict.scope is not None:
            raise InsufficientScope(verdict.scope)
        # No token, or nothing could help: DRF answers 401 (no one authenticated) or 403.
        return False


def _verdict(permission, request, view) -> Verdict:
    """What ``permission`` (ours or any DRF one) decides, without raising for scopes."""
    if isinstance(permission, ScopePermission):
        return permission.check(request, view)
    try:
        return ALLOWED if permission.has_permission(request, view) else REFUSED
    except InsufficientScope as exc:  # one of ours nested in a DRF operator
        return Verdict(False, exc.scope)


def _label(operand) -> str:
    return getattr(operand, "__qualname__", None) or type(operand).__name__


def _compose(base: type[_Composite], symbol: str, *operands):
    if not all(callable(operand) for operand in operands):
        return NotImplemented
    if symbol == "~":
        label = f"~{_label(operands[0])}"
    else:
        label = f"({f' {symbol} '.join(_label(operand) for operand in operands)})"
    attrs = {"operands": operands, "__qualname__": label, "__module__": base.__module__}
    return ScopePermissionMetaclass(base.__name__, (base,), attrs)


class _Composite(ScopePermission):
    #: Permission classes (or DRF operand holders), instantiated per request as DRF does.
    operands: tuple = ()

    #: The DRF operator with the same meaning, for ``openapi_scopes``.
    drf_operator: type | None = None

    def __init__(self):
        self.permissions = [operand() for operand in self.operands]

    def openapi_scopes(self, view, method: str) -> list[list[str]] | None:
        """drf-spectacular (``oauthkit.drf.spectacular``): the scopes of the expression,
        read as DRF's own ``AND`` / ``OR`` / ``NOT`` would be."""
        from .spectacular import permission_scopes

        if self.drf_operator is None:
            return None
        return permission_scopes(self.drf_operator(*self.permissions), view, method)


class AllOf(_Composite):
    """``A & B``: every operand allows; refused with the first refusal's scopes."""

    drf_operator = AND

    def check(self, request, view) -> Verdict:
        for permission in self.permissions:
            verdict = _verdict(permission, request, view)
            if not verdict.allowed:
                return verdict
        return ALLOWED

    def has_object_permission(self, request, view, obj) -> bool:
        return all(p.has_object_permission(request, view, obj) for p in self.permissions)


class AnyOf(_Composite):
    """``A | B``: one operand allows; refused with the first refusal that names scopes."""

    drf_operator = OR

    def check(self, request, view) -> Verdict:
        refusal = REFUSED
        for permission in self.permissions:
            verdict = _verdict(permission, request, view)
            if verdict.allowed:
                return verdict
            if refusal.scope is None:
                refusal = verdict
        return refusal

    def has_object_permission(self, request, view, obj) -> bool:
        # As DRF's OR: one operand must allow both the request and the object.
        return any(
            _verdict(p, request, view).allowed and p.has_object_permission(request, view, obj)
            for p in self.permissions
        )


class Not(_Composite):
    """``~A``: allowed when ``A`` refuses. Its refusals name no scope (more scope won't help)."""

    drf_operator = NOT

    def check(self, request, view) -> Verdict:
        return REFUSED if _verdict(self.permissions[0], request, view).allowed else ALLOWED

    def has_object_permission(self, request, view, obj) -> bool:
        # not (A allows the request and the object): unlike DRF's NOT, a request-level
        # permission under ~ does not refuse every object.
        (permission,) = self.permissions
        allowed = _verdict(permission, request, view).allowed
        return not (allowed and permission.has_object_permission(request, view, obj))


def _parameterised(cls, args: str, **attrs):
    """A subclass of ``cls`` with ``attrs``: what ``.require(...)`` returns."""
    attrs.update(__qualname__=f"{cls.__qualname__}.require({args})", __module__=cls.__module__)
    return type(cls)(cls.__name__, (cls,), attrs)


def _view_scopes(view, name: str = "required_scopes") -> tuple[str, ...]:
    return scope_tuple(getattr(view, name, None), f"{type(view).__name__}.{name}")


class TokenPermission(ScopePermission):
    """Base for permissions that need an oauthkit access token (``request.auth``)."""

    def check(self, request, view) -> Verdict:
        token = request.auth
        if not isinstance(token, ValidatedToken):
            return REFUSED
        requirement = self.get_requirement(view, request.method)
        if requirement is None:
            return REFUSED
        return requirement.check(token.scopes, getattr(view, "kwargs", None))

    def get_requirement(self, view, method: str) -> Requirement | None:
        """The scopes this request needs; None refuses it whatever the token holds."""
        raise NotImplementedError

    def openapi_scopes(self, view, method: str) -> list[list[str]] | None:
        """drf-spectacular (``oauthkit.drf.spectacular``): the alternatives for ``method``,
        dynamic scopes left as templates; None for a method that is always refused."""
        requirement = self.get_requirement(view, method)
        if requirement is None:
            return None
        return [list(alternative) for alternative in requirement.alternatives]


class TokenHasScope(TokenPermission):
    """Every scope of ``required_scopes`` (view attribute) or of ``.require(*scopes)``."""

    requirement: Requirement | None = None
    combine = staticmethod(all_of)

    @classmethod
    def require(cls, *scopes: str) -> type[TokenHasScope]:
        """This permission for ``scopes``, without a view attribute."""
        requirement = cls.combine(scope_tuple(scopes, f"{cls.__name__}.require()"))
        return _parameterised(cls, ", ".join(map(repr, scopes)), requirement=requirement)

    def get_requirement(self, view, method: str) -> Requirement:
        if self.requirement is not None:
            return self.requirement
        return self.combine(_view_scopes(view))


class TokenHasAnyScope(TokenHasScope):
    """At least one scope of ``required_scopes`` or of ``.require(*scopes)``."""

    combine = staticmethod(any_of)


class IsAuthenticatedOrTokenHasScope(TokenHasScope):
    """Users authenticated otherwise (a session) pass; token users need the scopes."""

    def check(self, request, view) -> Verdict:
        if isinstance(request.auth, ValidatedToken):
            return super().check(request, view)
        user = request.user
        return ALLOWED if user is not None and user.is_authenticated else REFUSED


class TokenHasReadWriteScope(TokenPermission):
    """Safe methods need ``RESOURCE_SERVER["READ_SCOPE"]``, others ``WRITE_SCOPE``, plus the
    view's optional ``required_scopes`` (or those of ``.require(*scopes)``)."""

    extra_scopes: tuple[str, ...] | None = None

    @classmethod
    def require(cls, *scopes: str) -> type[TokenHasReadWriteScope]:
        extra = scope_tuple(scopes, f"{cls.__name__}.require()")
        all_of(extra)  # refuse malformed scopes now
        return _parameterised(cls, ", ".join(map(repr, scopes)), extra_scopes=extra)

    def get_requirement(self, view, method: str) -> Requirement:
        conf = oauthkit_settings.RESOURCE_SERVER
        base = conf["READ_SCOPE"] if method in SAFE_METHODS else conf["WRITE_SCOPE"]
        extra = self.extra_scopes
        if extra is None:
            extra = _view_scopes(view) if getattr(view, "required_scopes", None) else ()
        return all_of((base, *extra))


class TokenHasResourceScope(TokenPermission):
    """``read:<resource>`` (GET, HEAD, OPTIONS), ``write:<resource>`` (POST, PUT, PATCH),
    ``delete:<resource>`` (DELETE); other methods are refused. The resource is the view's
    ``resource_name`` or ``.require(resource=...)``."""

    resource: str | None = None

    @classmethod
    def require(cls, *, resource: str) -> type[TokenHasResourceScope]:
        resource_requirement(resource, "GET")  # refuse a malformed name now
        return _parameterised(cls, f"resource={resource!r}", resource=resource)

    def get_requirement(self, view, method: str) -> Requirement | None:
        resource = self.resource or getattr(view, "resource_name", None)
        if not resource:
            raise ImproperlyConfigured(
                f"{type(view).__name__} uses TokenHasResourceScope without resource_name; set "
                "it or use TokenHasResourceScope.require(resource=...)."
            )
        return resource_requirement(resource, method)


class TokenMatchesScopes(TokenPermission):
    """Per-method alternatives: ``{"GET": [["read:users"], ["admin:all"]], ...}`` from the
    view's ``required_alternate_scopes`` or ``.require(mapping)``. Each alternative is a list
    of scopes, all required; a method that is not listed is refused."""

    requirements: dict[str, Requirement] | None = None

    @classmethod
    def require(cls, mapping: Mapping[str, Iterable[Iterable[str]]]) -> type[TokenMatchesScopes]:
        return _parameterised(cls, repr(dict(mapping)), requirements=by_method(mapping))

    def get_requirement(self, view, method: str) -> Requirement | None:
        requirements = self.requirements
        if requirements is None:
            mapping = getattr(view, "required_alternate_scopes", None)
            if mapping is None:
                raise ImproperlyConfigured(
                    f"{type(view).__name__}.required_alternate_scopes is not set."
                )
            requirements = by_method(mapping)
        return requirements.get(method)
