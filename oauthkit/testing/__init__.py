"""Factories and helpers for testing code that uses oauthkit (importable by users).

- ``bearer(user, scopes=[...])``: an ``Authorization`` header value with a real token;
  ``issue_token`` for the raw token, ``revoke`` to revoke one (``oauthkit.testing.tokens``).
- factory-boy factories: ``oauthkit.testing.factories``.
- pytest fixtures: ``pytest_plugins = ["oauthkit.testing.fixtures"]``.

See docs/testing.md.
"""

from .tokens import bearer, issue_token, revoke

__all__ = ["bearer", "issue_token", "revoke"]
