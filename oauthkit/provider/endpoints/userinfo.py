"""UserInfo endpoint (OpenID Connect Core §5.3)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from ...bearer import error_response
from ..adapter import get_adapter
from ..claims import requested_claim_names, user_claims
from ..issuer import get_issuer
from ..tokens import find_access_token
from .base import SECRET_VARIABLES, allow_cors, hide_authorization_header, no_store


class UserInfoError(Exception):
    """An RFC 6750 §3.1 error; ``error`` None means the request carried no token."""

    def __init__(self, status: int, error: str | None, description: str):
        self.status, self.error, self.description = status, error, description


@method_decorator(csrf_exempt, name="dispatch")
# RFC 6750 §2.1, §2.2: the token comes in the Authorization header or the form body.
# Django's error reports show it there, and find_token's copies of it, as stars.
@method_decorator(
    [
        hide_authorization_header,
        sensitive_post_parameters("access_token"),
        sensitive_variables(*SECRET_VARIABLES, "values", "from_header", "from_body"),
    ],
    name="dispatch",
)
class UserInfoView(View):
    """Claims about the user an access token with ``openid`` stands for.

    The token comes in the Authorization header (RFC 6750 §2.1) or, with POST, a
    form-encoded body (§2.2); never in the query string (§2.3, RFC 9700 §2.5).
    """

    http_method_names = ["get", "post", "options"]

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.answer(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        return self.answer(request)

    def options(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return allow_cors(super().options(request, *args, **kwargs), methods="GET, POST")

    def answer(self, request: HttpRequest) -> HttpResponse:
        try:
            body = self.claims_for(request)
        except UserInfoError as error:
            # RFC 6750 §3.1: no error information for a request without any token.
            description = error.description if error.error else None
            scope = "openid" if error.status == 403 else None
            response = error_response(error.status, error.error, description, scope)
        else:
            response = JsonResponse(body)
        return allow_cors(no_store(response), methods="GET, POST")

    def claims_for(self, request: HttpRequest) -> dict:
        token = self.find_token(request)
        if token is None or not token.is_active or token.user is None:
            raise UserInfoError(401, "invalid_token", "The access token is invalid.")
        scopes = token.scopes
        if "openid" not in scopes:
            raise UserInfoError(403, "insufficient_scope", "The token lacks the openid scope.")
        names = requested_claim_names(scopes, token.claims, "userinfo")
        claims = user_claims(token.user, names, client=token.client, scopes=scopes)
        # Core §5.3.2: sub is always returned, and must match the ID token's.
        return {**claims, "sub": get_adapter().get_client_subject(token.user, token.client)}

    def find_token(self, request: HttpRequest):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, value = header.partition(" ")
        from_header = value.strip() if scheme.lower() == "bearer" else ""
        from_body = ""
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            values = request.POST.getlist("access_token")
            # RFC 6749 §3.1: a repeated parameter is refused, not reduced to one value.
            if len(values) > 1:
                raise UserInfoError(400, "invalid_request", "Send the token only once.")
            from_body = values[0] if values else ""
        if from_header and from_body:
            raise UserInfoError(400, "invalid_request", "Send the token only once.")
        value = from_header or from_body
        if not value:
            raise UserInfoError(401, None, "An access token is required.")
        return find_access_token(value, issuer=get_issuer(request))
