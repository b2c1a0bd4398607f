"""End-session endpoint (OpenID Connect RP-Initiated Logout 1.0).

- GET or POST (§2), the parameters checked by ``LogoutRequest``: an invalid
  ``id_token_hint``, an unknown ``client_id`` or an unregistered
  ``post_logout_redirect_uri`` show an error page and never redirect (§3.1, §4).
- The user is logged out at once only when the request proves it comes from the client
  for this user: a valid ``id_token_hint`` whose ``sub`` is the signed-in user. Otherwise
  a confirmation page asks first (§2, §6: a third party could send the user here), and
  its answer is a CSRF-protected POST.
- Logging out is ``django.contrib.auth.logout``, whose ``user_logged_out`` signal sends
  the back-channel logout tokens (``oauthkit.provider.logout``).
- Then a redirect to ``post_logout_redirect_uri`` with ``state`` (§3), or the logged-out
  page. Pages are rendered in the first ``ui_locales`` language the site supports.
"""

from __future__ import annotations

from contextlib import nullcontext

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, QueryDict
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from ...conf import oauthkit_settings
from ..errors import FatalAuthorizationError
from ..issuer import get_issuer
from ..logout import LogoutRequest
from .authorize import ClientRedirect, protect_page, supported_language
from .base import SECRET_VARIABLES

#: The answers of the confirmation form.
DECISIONS = ("logout", "cancel")


def csrf_rejection(request: HttpRequest) -> HttpResponse | None:
    """Django's CSRF failure response when the request lacks a valid token, else None."""
    return CsrfViewMiddleware(lambda r: HttpResponse()).process_view(request, None, (), {})


# A relying party may POST the logout request itself (§2), from its own origin, without
# our CSRF token; only the answer of our confirmation form is checked (``csrf_rejection``).
@method_decorator(csrf_exempt, name="dispatch")
# Django's error reports show a posted id_token_hint as stars, and wherever the view keeps
# it: the LogoutRequest (``request`` while it loads, ``self`` in its methods: its repr holds
# the parameters) and the pages' hidden fields (``context``).
@method_decorator(
    [
        sensitive_post_parameters("id_token_hint"),
        sensitive_variables(
            *SECRET_VARIABLES, "logout_request", "values", "request", "self", "context"
        ),
    ],
    name="dispatch",
)
class EndSessionView(View):
    """RP-initiated logout; the confirmation form posts back here with ``decision``."""

    http_method_names = ["get", "post"]
    confirm_template = "oauthkit/provider/logout_confirm.html"
    logged_out_template = "oauthkit/provider/logged_out.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return protect_page(self.end_session(request, request.GET, decision=None))

    def post(self, request: HttpRequest) -> HttpResponse:
        decision = request.POST.get("decision")
        if decision is not None:
            if decision not in DECISIONS:
                return protect_page(self.error_page(request, _("The answer is missing.")))
            rejected = csrf_rejection(request)
            if rejected is not None:
                return protect_page(rejected)
        return protect_page(self.end_session(request, request.POST, decision=decision))

    def end_session(self, request: HttpRequest, params: QueryDict, decision: str | None):
        try:
            logout_request = LogoutRequest.load(params, issuer=get_issuer(request))
        except FatalAuthorizationError as error:
            return self.error_page(request, error.description)
        language = supported_language(logout_request.ui_locales)
        with translation.override(language) if language else nullcontext():
            response = self.decide(request, logout_request, decision)
        if language:
            response["Content-Language"] = language
        return response

    def decide(self, request: HttpRequest, logout_request: LogoutRequest, decision: str | None):
        user = request.user
        if decision == "cancel":
            return self.page(request, logout_request, self.logged_out_template, cancelled=True)
        if user.is_authenticated:
            if decision != "logout" and not logout_request.names_user(user):
                return self.page(request, logout_request, self.confirm_template)
            logout(request)
        if logout_request.redirect_uri is not None:
            # §3: 303 after the form's POST, 302 after a GET; never 307 (RFC 9700 §4.12).
            return ClientRedirect(
                logout_request.redirect_location(), after_post=request.method == "POST"
            )
        return self.page(request, logout_request, self.logged_out_template)

    def page(self, request, logout_request: LogoutRequest, template: str, **extra):
        context = {
            "client": logout_request.client,
            "hidden_fields": sorted(logout_request.params.items()),
            "cancelled": False,
            **extra,
        }
        return render(request, template, context)

    def error_page(self, request: HttpRequest, description: str) -> HttpResponse:
        return render(
            request, oauthkit_settings.ERROR_TEMPLATE, {"description": description}, status=400
        )
