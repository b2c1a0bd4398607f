"""Scope requirements: what an API request needs from its access token.

Shared by the DRF permission classes (``oauthkit.drf.permissions``) and the plain Django
decorator and mixin (``oauthkit.decorators``), so both refuse the same requests the same way.

A ``Requirement`` is a list of alternatives; each alternative is a set of scopes that are all
needed. The token passes if it holds every scope of at least one alternative. When it does
not, the refusal names the first alternative: one set of scopes that would be enough, as the
``scope`` attribute of the RFC 6750 §3.1 ``insufficient_scope`` challenge.

A scope may name URL keyword arguments in braces (``read:project:{project_id}``); they are
filled in from the view's kwargs for each request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from string import Formatter
from typing import Any

from django.core.exceptions import ImproperlyConfigured

#: RFC 9110 §9.2.1: methods that do not change the resource.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: The action part of resource scopes (``<action>:<resource>``) for each HTTP method.
RESOURCE_ACTIONS = {
    "GET": "read",
    "HEAD": "read",
    "OPTIONS": "read",
    "POST": "write",
    "PUT": "write",
    "PATCH": "write",
    "DELETE": "delete",
}

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). A URL value that would
# break out of one scope token (a space, a quote) can never match a granted scope.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


#: ``error_description`` of the 403 challenge; ASCII, as RFC 6750 §3 requires of it.
INSUFFICIENT_SCOPE_DESCRIPTION = "The access token does not have the scope this request needs."


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: allowed, or refused (with the scopes that would do, if any)."""

    allowed: bool
    #: Space-separated scopes that would be enough, when more scope would help.
    scope: str | None = None


ALLOWED = Verdict(True)
#: Refused, and no scope would help (no token, a method the view does not list, ...).
REFUSED = Verdict(False)


@dataclass(frozen=True)
class Requirement:
    """Alternatives of scope sets; see the module docstring."""

    alternatives: tuple[tuple[str, ...], ...]
    #: Names of URL keyword arguments used by the scopes (``{name}``).
    fields: frozenset[str] = frozenset()

    def check(self, scopes: frozenset[str], kwargs: Mapping[str, Any] | None = None) -> Verdict:
        """Whether a token with ``scopes`` meets this requirement for a view with ``kwargs``."""
        alternatives = self.alternatives if not self.fields else self._bind(kwargs or {})
        if alternatives is None:
            return REFUSED
        for alternative in alternatives:
            if all(scope in scopes for scope in alternative):
                return ALLOWED
        # RFC 6750 §3.1: name scopes that would be enough; none if nothing could.
        return Verdict(False, " ".join(alternatives[0])) if alternatives else REFUSED

    def _bind(self, kwargs: Mapping[str, Any]) -> tuple[tuple[str, ...], ...] | None:
        missing = sorted(self.fields - set(kwargs))
        if missing:
            raise ImproperlyConfigured(
                f"The scope requirement {self.describe()!r} uses the URL keyword argument(s) "
                f"{', '.join(missing)}, which this view's URL pattern does not capture."
            )
        values = {name: str(kwargs[name]) for name in self.fields}
        if not all(_SCOPE_TOKEN.fullmatch(value) for value in values.values()):
            return None
        return tuple(
            tuple(scope.format_map(values) for scope in alternative)
            for alternative in self.alternatives
        )

    def describe(self) -> str:
        """The requirement for people: ``a b | c`` (alternatives separated by ``|``)."""
        return " | ".join(" ".join(alternative) for alternative in self.alternatives)


def _template_fields(scope: Any) -> set[str]:
    """The URL kwargs a scope names; refuses anything but a scope with ``{name}`` fields."""
    if not isinstance(scope, str) or not scope or any(c.isspace() for c in scope):
        raise ImproperlyConfigured(f"A scope must be a non-empty string without spaces: {scope!r}")
    if "{" not in scope and "}" not in scope:
        return set()
    try:
        parsed = list(Formatter().parse(scope))
    except ValueError as exc:
        raise ImproperlyConfigured(f"Malformed scope template {scope!r}: {exc}") from exc
    fields = set()
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        # Only plain names: no positional fields, attribute or index access, or formatting.
        if not name.isidentifier() or spec or conversion:
            raise ImproperlyConfigured(
                f"Scope template {scope!r}: use plain URL keyword names like {{project_id}}."
            )
        fields.add(name)
    return fields


def alternatives(groups: Iterable[Iterable[str]]) -> Requirement:
    """A requirement met by holding every scope of any one group (in order of preference)."""
    if isinstance(groups, str | bytes):
        raise ImproperlyConfigured("Scope alternatives must be a list of lists of scopes.")
    frozen = []
    fields: set[str] = set()
    for group in groups:
        # ["read:users", "admin:all"] as alternatives is ambiguous (all? any?): refuse it.
        if isinstance(group, str | bytes) or not isinstance(group, Iterable):
            raise ImproperlyConfigured(
                f"Each alternative must be a list of scopes, all required; got {group!r}. "
                'Write [["read:users"], ["admin:all"]] for "read:users or admin:all".'
            )
        group = tuple(group)
        for scope in group:
            fields |= _template_fields(scope)
        frozen.append(group)
    if not fields:
        # "{{" and "}}" stand for literal braces, as in str.format (with fields, _bind
        # formats every scope on each request).
        frozen = [tuple(s.format_map({}) if "{" in s or "}" in s else s for s in g) for g in frozen]
    return Requirement(tuple(frozen), frozenset(fields))


@lru_cache(maxsize=512)
def all_of(scopes: tuple[str, ...]) -> Requirement:
    """Every one of ``scopes`` (an empty tuple: any valid token)."""
    return alternatives([scopes])


@lru_cache(maxsize=512)
def any_of(scopes: tuple[str, ...]) -> Requirement:
    """At least one of ``scopes``."""
    if not scopes:
        raise ImproperlyConfigured("any_of needs at least one scope.")
    return alternatives([(scope,) for scope in scopes])


def scope_tuple(scopes: Any, what: str) -> tuple[str, ...]:
    """``scopes`` (a list of scope strings) as a tuple; a lone string is a common mistake."""
    if scopes is None:
        raise ImproperlyConfigured(f"{what} is not set.")
    if isinstance(scopes, str | bytes):
        raise ImproperlyConfigured(f"{what} must be a list of scopes, not a string: {scopes!r}.")
    scopes = tuple(scopes)
    if not all(isinstance(scope, str) for scope in scopes):
        raise ImproperlyConfigured(f"{what} must be a list of scope strings: {scopes!r}.")
    return scopes


def by_method(mapping: Mapping[str, Iterable[Iterable[str]]]) -> dict[str, Requirement]:
    """Per-method requirements: ``{"GET": [["read:users"], ["admin:all"]], ...}``.

    A method that is not listed is refused (no scope can help); list HEAD and OPTIONS
    too if the view serves them.
    """
    if not isinstance(mapping, Mapping) or not mapping:
        raise ImproperlyConfigured("Per-method scopes must be a non-empty dict of method names.")
    return {str(method).upper(): alternatives(groups) for method, groups in mapping.items()}


def resource_requirement(resource: str, method: str) -> Requirement | None:
    """``read:<resource>``, ``write:<resource>`` or ``delete:<resource>`` for ``method``;
    None for a method with no action (refused)."""
    action = RESOURCE_ACTIONS.get(method)
    return all_of((f"{action}:{resource}",)) if action else None
