"""Reading a bearer token from a request and answering RFC 6750 errors.

Shared by the DRF classes (``oauthkit.drf``) and the plain Django decorator and mixin
(``oauthkit.decorators``).
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from .conf import oauthkit_settings


class MalformedRequest(Exception):
    """RFC 6750 §3.1 invalid_request: the credentials are sent in a way we refuse."""


def get_bearer_token(request: HttpRequest) -> str | None:
    """The bearer token of ``request``, or None when it carries none.

    RFC 6750 §2.1 (Authorization header); the form body (§2.2) and the query string
    (§2.3) only when enabled in ``RESOURCE_SERVER``. More than one method is an error.
    """
    conf = oauthkit_settings.RESOURCE_SERVER
    found = []
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        value = value.strip()
        if not value or " " in value:
            raise MalformedRequest("Malformed Authorization header.")
        found.append(value)
    # RFC 6750 §2.2: only a form-encoded body of a request that has one.
    form_body = (
        request.method not in ("GET", "HEAD")
        and request.content_type == "application/x-www-form-urlencoded"
    )
    # getlist: a repeated parameter is refused, not silently reduced to its last value
    # (RFC 6749 §3.1: parameters must not be included more than once).
    if conf["ALLOW_FORM_BODY"] and form_body:
        found.extend(request.POST.getlist("access_token"))
    if conf["ALLOW_QUERY_STRING"]:
        found.extend(request.GET.getlist("access_token"))
    if len(found) > 1:
        raise MalformedRequest("Use only one method to send the access token, once.")
    if found and not found[0]:
        raise MalformedRequest("The access token is empty.")
    return found[0] if found else None


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def www_authenticate(
    error: str | None = None, description: str | None = None, scope: str | None = None
) -> str:
    """The ``WWW-Authenticate: Bearer ...`` challenge (RFC 6750 §3)."""
    params = [f'realm="{_quoted(oauthkit_settings.RESOURCE_SERVER["REALM"])}"']
    if error:
        params.append(f'error="{error}"')
    if description:
        params.append(f'error_description="{_quoted(description)}"')
    if scope:
        params.append(f'scope="{_quoted(scope)}"')
    return "Bearer " + ", ".join(params)


def error_response(
    status: int, error: str | None, description: str | None = None, scope: str | None = None
) -> JsonResponse:
    """A JSON error with the RFC 6750 challenge, for plain Django views."""
    body = (
        {"error": error} if error else {"detail": "Authentication credentials were not provided."}
    )
    if description:
        body["error_description"] = description
    response = JsonResponse(body, status=status)
    response["WWW-Authenticate"] = www_authenticate(error, description, scope)
    return response
