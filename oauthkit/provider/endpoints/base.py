"""What every back-channel endpoint (token, revocation, introspection) shares:
POST with a form body only, errors as JSON, never cached, CORS without credentials."""

from __future__ import annotations

import logging

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from ..errors import InvalidRequest, OAuthError, ServerError
from ..params import check_characters

logger = logging.getLogger(__name__)

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

#: Parameters a request may repeat: RFC 8707 §2 allows several ``resource`` values, so
#: the grant (not this check) answers them, with ``invalid_target``.
REPEATABLE_PARAMETERS = frozenset({"resource"})


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

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            response = self.process(request, read_form(request))
        except OAuthError as error:
            response = error.as_response()
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
