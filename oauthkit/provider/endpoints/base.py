"""What every back-channel endpoint (token, revocation, introspection, device authorization)
shares: POST with a form body only, errors as JSON, never cached, CORS without credentials,
and credentials kept out of Django's error reports."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils.decorators import method_decorator
from django.views import View
from django.views.debug import get_exception_reporter_filter
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from ..errors import InvalidRequest, OAuthError, ServerError, TemporarilyUnavailable
from ..params import check_characters

logger = logging.getLogger(__name__)

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

#: Parameters a request may repeat: RFC 8707 §2 allows several ``resource`` values, so
#: the grant (not this check) answers them, with ``invalid_target``.
REPEATABLE_PARAMETERS = frozenset({"resource"})

#: Local variables that hold a credential or a token somewhere below the provider's views:
#: Django's error reports (SafeExceptionReporterFilter: the admins' e-mail, error trackers)
#: show them as stars. Django applies the list of the nearest caller decorated with
#: ``sensitive_variables`` to every frame, so the view's list covers the helpers it calls;
#: a helper with a decorator of its own (``hashing``, ``jose``, the grants) uses its own.
SECRET_VARIABLES = (
    # client_auth, client_assertion, Client.check_secret: the client's credentials.
    *("header", "decoded", "raw_secret", "secret", "assertion", "raw"),
    # The token, code or verifier a request presents (revocation, introspection, pkce, tokens).
    *("value", "token", "verifier", "expected"),
    # What the token and device endpoints issue (TokenResponse, IssuedDeviceCodes).
    *("result", "issued", "device_code", "user_code"),
)


class _AuthorizationHidden:
    """A request's error-report filter, with the Authorization header as stars."""

    def __init__(self, reporter_filter: Any):
        self.reporter_filter = reporter_filter

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reporter_filter, name)

    def get_safe_request_meta(self, request: HttpRequest) -> dict:
        meta = self.reporter_filter.get_safe_request_meta(request)
        if "HTTP_AUTHORIZATION" in meta:
            meta["HTTP_AUTHORIZATION"] = self.reporter_filter.cleansed_substitute
        return meta


def hide_authorization_header(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Show the Authorization header (client credentials, bearer tokens) as stars in Django's
    error reports. Django 5.2's filter does (META keys with AUTH), 4.2's does not: then the
    site's filter is wrapped for the request (``request.exception_reporter_filter``)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        reporter_filter = get_exception_reporter_filter(request)
        cleanse = getattr(reporter_filter, "cleanse_setting", None)
        if cleanse is not None and cleanse("HTTP_AUTHORIZATION", "") == "":
            request.exception_reporter_filter = _AuthorizationHidden(reporter_filter)
        return view(request, *args, **kwargs)

    return wrapper


def read_form(request: HttpRequest) -> QueryDict:
    """The form parameters of a back-channel request (RFC 6749 §3.2).

    Only application/x-www-form-urlencoded bodies are accepted, and no parameter may
    appear twice (RFC 6749 §3.1, §3.2) except those in ``REPEATABLE_PARAMETERS``.
    """
    if request.content_type != FORM_CONTENT_TYPE:
        raise InvalidRequest(f"The request body must be {FORM_CONTENT_TYPE}.")
    if request.GET:
        raise InvalidRequest("Parameters must be sent in the request body.")
    params = request.POST
    repeated = sorted(
        name
        for name, values in params.lists()
        if len(values) > 1 and name not in REPEATABLE_PARAMETERS
    )
    if repeated:
        raise InvalidRequest(f"Repeated parameter: {', '.join(repeated)}.")
    check_characters(params)
    return params


def no_store(response: HttpResponse) -> HttpResponse:
    # RFC 6749 §5.1: responses with tokens or credentials must not be cached.
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def allow_cors(response: HttpResponse, methods: str = "POST") -> HttpResponse:
    # Browser clients call these endpoints without cookies; credentials are in the body
    # or Authorization header, so any origin may (RFC 9700 §4.1 / checklist 14).
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = f"{methods}, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
    response["Access-Control-Max-Age"] = "86400"
    return response


@method_decorator(csrf_exempt, name="dispatch")
class BackChannelView(View):
    """POST-only endpoint answering JSON; subclasses implement ``process``."""

    http_method_names = ["post", "options"]
    #: Form parameters shown as stars in Django's error reports: client authentication
    #: (RFC 6749 §2.3.1, RFC 7523 §2.2), the grants' credentials (RFC 6749 §4.1.3, §4.3.2,
    #: §6; RFC 7636 §4.5; RFC 8628 §3.4), the token to revoke or introspect (RFC 7009 §2.1,
    #: RFC 7662 §2.1). The Authorization header Django hides itself.
    secret_parameters: ClassVar[tuple[str, ...]] = (
        "client_secret",
        "client_assertion",
        "code",
        "code_verifier",
        "refresh_token",
        "password",
        "device_code",
        "token",
    )
    #: Local variables shown as stars, in the view and the functions it calls.
    secret_variables: ClassVar[tuple[str, ...]] = SECRET_VARIABLES

    @classmethod
    def as_view(cls, **initkwargs) -> Callable[..., HttpResponse]:
        # Decorated once, here, as DRF's APIView adds csrf_exempt: each subclass gets its own
        # lists, and a request pays one call per decorator.
        view = super().as_view(**initkwargs)
        view = sensitive_variables(*cls.secret_variables)(view)
        view = sensitive_post_parameters(*cls.secret_parameters)(view)
        return hide_authorization_header(view)

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            response = self.process(request, read_form(request))
        except OAuthError as error:
            response = error.as_response()
        except OperationalError as exc:
            # SQLite without IMMEDIATE transactions (Django < 5.1) refuses a second writer
            # instead of queueing it (a grant, a client assertion's jti, a revocation): the
            # client may retry (RFC 6749 §5.2).
            if "locked" not in str(exc):
                raise
            response = TemporarilyUnavailable("The server is busy; retry shortly.").as_response()
        except ImproperlyConfigured:
            # No signing key (DEBUG off, none configured): answer the standard JSON
            # server_error (RFC 6749 §5.2) rather than a traceback page.
            logger.exception("oauthkit is misconfigured; answering server_error.")
            response = ServerError("The server cannot issue tokens now.").as_response()
        return allow_cors(no_store(response))

    def options(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return allow_cors(super().options(request, *args, **kwargs))

    def process(self, request: HttpRequest, params: QueryDict) -> HttpResponse:
        raise NotImplementedError


def json_response(body: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(body, status=status)
