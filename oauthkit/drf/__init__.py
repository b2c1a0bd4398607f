"""Django REST framework integration: ``OAuth2Authentication`` and scope permissions."""

from .authentication import OAuth2Authentication
from .permissions import (
    AllOf,
    AnyOf,
    InsufficientScope,
    IsAuthenticatedOrTokenHasScope,
    Not,
    ScopePermission,
    TokenHasAnyScope,
    TokenHasReadWriteScope,
    TokenHasResourceScope,
    TokenHasScope,
    TokenMatchesScopes,
    TokenPermission,
)

__all__ = [
    "AllOf",
    "AnyOf",
    "InsufficientScope",
    "IsAuthenticatedOrTokenHasScope",
    "Not",
    "OAuth2Authentication",
    "ScopePermission",
    "TokenHasAnyScope",
    "TokenHasReadWriteScope",
    "TokenHasResourceScope",
    "TokenHasScope",
    "TokenMatchesScopes",
    "TokenPermission",
]
