"""Authorization endpoint (RFC 6749 §3.1, §4.1; RFC 7636; RFC 9207)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseRedirectBase
from django.shortcuts import render
from django.views import View

from ...conf import oauthkit_settings
from ..authorization import AUTHORIZATION_PARAMETERS, AuthorizationRequest
from ..errors import (
    AccessDenied,
    ConsentRequired,
    FatalAuthorizationError,
    LoginRequired,
    OAuthError,
)
from ..events import consent_given
from ..issuer import get_issuer
from ..scopes import describe
from ..sessions import AUTH_TIME_SESSION_KEY


class ClientRedirect(HttpResponseRedirectBase):
    """A redirect to a redirect URI already proven against the client's registration.

    Any scheme is allowed (private-use schemes of native apps, RFC 8252 §7.1); the
    status is 302 for GET and 303 after a POST, never 307 (RFC 9700 §4.12).
    """

    def __init__(self, url: str, *, after_post: bool = False):
        self.allowed_schemes = [url.split(":", 1)[0]]
        self.status_code = 303 if after_post else 302
        super().__init__(url)


def protect_page(response: HttpResponse) -> HttpResponse:
    """Anti-framing and no-referrer headers (RFC 9700 §4.16; checklist 15, 16)."""
    response["X-Frame-Options"] = "DENY"
    response["Content-Security-Policy"] = "frame-ancestors 'none'"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


class AuthorizationView(View):
    """GET starts an authorization; POST is the consent page's answer (CSRF-protected)."""

    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest) -> HttpResponse:
        return protect_page(self.authorize(request, request.GET, decision=None))

    def post(self, request: HttpRequest) -> HttpResponse:
        decision = request.POST.get("decision")
        if decision not in ("allow", "deny"):
            return protect_page(self.error_page(request, "The consent answer is missing."))
        return protect_page(self.authorize(request, request.POST, decision=decision))

    def authorize(self, request: HttpRequest, params: QueryDict, decision: str | None):
        user = request.user if request.user.is_authenticated else None
        try:
            authz = AuthorizationRequest.load(params, user)
        except FatalAuthorizationError as error:
            return self.error_page(request, error.description)
        issuer = get_issuer(request)
        after_post = request.method == "POST"
        try:
            authz.validate(issuer)
            if user is None:
                if "none" in authz.prompt:
                    raise LoginRequired("The user is not signed in.")
                return redirect_to_login(self.request_url(request, authz))
            with transaction.atomic():
                self.check_consent(request, authz, user, decision)
                code = authz.issue_code(user, auth_time(request, user))
        except OAuthError as error:
            return ClientRedirect(authz.error_uri(error, issuer), after_post=after_post)
        except ConsentNeeded:
            return self.consent_page(request, authz)
        return ClientRedirect(authz.response_uri({"code": code}, issuer), after_post=after_post)

    def check_consent(self, request, authz: AuthorizationRequest, user, decision) -> None:
        if decision == "deny":
            consent_given(
                False, request=request, client=authz.client, user=user, scopes=authz.scopes
            )
            raise AccessDenied("The user denied the request.")
        if decision == "allow":
            authz.remember_consent(user)
            consent_given(
                True, request=request, client=authz.client, user=user, scopes=authz.scopes
            )
            return
        if authz.consent_remembered():
            return
        if "none" in authz.prompt:
            raise ConsentRequired("The user has not consented to this client.")
        raise ConsentNeeded

    def consent_page(self, request: HttpRequest, authz: AuthorizationRequest) -> HttpResponse:
        context = {
            "client": authz.client,
            "logo_uri": same_site_logo(authz.client.logo_uri, get_issuer(request)),
            "scopes": describe(authz.scopes),
            "hidden_fields": sorted(authz.params.items()),
            "redirect_host": urlsplit(authz.redirect_uri).netloc,
        }
        return render(request, oauthkit_settings.CONSENT_TEMPLATE, context)

    def error_page(self, request: HttpRequest, description: str) -> HttpResponse:
        return render(
            request, oauthkit_settings.ERROR_TEMPLATE, {"description": description}, status=400
        )

    def request_url(self, request: HttpRequest, authz: AuthorizationRequest) -> str:
        """This request as a GET URL, to come back to after signing in."""
        if request.method == "GET":
            return request.get_full_path()
        query = {k: v for k, v in authz.params.items() if k in AUTHORIZATION_PARAMETERS}
        return f"{request.path}?{urlencode(query)}"


def same_site_logo(logo_uri: str, issuer: str) -> str:
    """The logo URL when it is served by this site, else "".

    The consent page loads no third-party resources (RFC 9700 §4.16, checklist 16):
    a logo on the client's own host would tell it who looks at the page and when.
    """
    if not logo_uri:
        return ""
    logo, own = urlsplit(logo_uri), urlsplit(issuer)
    if not logo.netloc and logo_uri.startswith("/") and not logo_uri.startswith("//"):
        return logo_uri
    return logo_uri if (logo.scheme, logo.netloc) == (own.scheme, own.netloc) else ""


class ConsentNeeded(Exception):
    """The consent page must be shown."""


def auth_time(request: HttpRequest, user) -> datetime | None:
    """When the user signed in: recorded in the session at login, else ``last_login``."""
    value = request.session.get(AUTH_TIME_SESSION_KEY)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    return user.last_login
