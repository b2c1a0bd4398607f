"""The one HTTP client of the login side: ``requests`` with timeouts from settings, and
every transport or format failure turned into :class:`ProviderUnavailable`."""

from __future__ import annotations

from typing import Any

import requests

from oauthkit.conf import oauthkit_settings

from .errors import ProviderError, ProviderUnavailable


def _timeout() -> float:
    return oauthkit_settings.LOGIN["HTTP_TIMEOUT"].total_seconds()


class ProviderHTTP:
    """Small wrapper handed to providers (``fetch_profile(http, ...)``).

    ``session_factory`` makes the ``requests.Session`` (a seam for tests and for sites
    that need proxies or client certificates).
    """

    session_factory = requests.Session

    def __init__(self, session: requests.Session | None = None):
        self.session = session or type(self).session_factory()
        # Not setdefault: requests already sets "Accept: */*", and providers such as GitHub
        # answer a token request form-encoded unless JSON is asked for.
        self.session.headers["Accept"] = "application/json"

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send one request; network errors and timeouts raise ProviderUnavailable."""
        kwargs.setdefault("timeout", _timeout())
        kwargs.setdefault("allow_redirects", False)
        try:
            return self.session.request(method, url, **kwargs)
        except requests.Timeout as exc:
            raise ProviderUnavailable(code="timeout") from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable() from exc

    def get_json(self, url: str, **kwargs: Any) -> Any:
        """GET ``url`` and return its JSON body; a non-2xx answer raises."""
        return self._json(self.request("GET", url, **kwargs))

    def post_form(self, url: str, data: dict[str, Any], **kwargs: Any) -> Any:
        """POST a form (token, revocation endpoints) and return the JSON body.

        An OAuth error body (RFC 6749 §5.2) raises ProviderError with its ``error`` code.
        """
        return self._json(self.request("POST", url, data=data, **kwargs))

    @staticmethod
    def _json(response: requests.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            if isinstance(body, dict) and isinstance(body.get("error"), str):
                raise ProviderError(
                    str(body.get("error_description") or body["error"])[:300],
                    code=body["error"][:64],
                )
            raise ProviderUnavailable()
        if body is None:
            raise ProviderUnavailable()
        return body
