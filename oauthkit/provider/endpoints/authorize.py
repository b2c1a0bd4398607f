"""Authorization endpoint (RFC 6749 §3.1, §4.1; RFC 7636; RFC 9207; OIDC Core §3.1.2).

OpenID Connect parameters, as the endpoint treats them (Core §3.1.2.1, §3.1.2.6):

- ``prompt=none``: never a page; ``login_required``, ``consent_required``, or
  ``interaction_required`` when consent exists but the client's identity cannot be assured
  (RFC 8252 §8.6). ``none`` with any other value is ``invalid_request``; unknown values
  are ignored.
- ``prompt=login``, an exceeded ``max_age`` (``0``: always), or an ``id_token_hint`` that
  names someone other than the signed-in user: the user is sent to ``LOGIN_URL`` even when
  signed in. The ``next`` URL omits ``prompt=login`` and ``max_age``, so the flow resumes
  after the sign-in instead of looping. The user is not logged out first: that would end
  the provider session for every client, and a user who gives up would be signed out
  everywhere. Nothing on our side can stop the person holding the browser from dropping
  ``prompt=login`` from the URL (they can edit the client's request just as well); what
  makes the sign-in verifiable is ``auth_time``, always in the ID token, which the client
  compares with the time of its request (Core §3.1.3.7, step 13).
- ``prompt=select_account``: like ``login``, to ``select_account_url`` when a site sets
  it (an account chooser that returns to ``next``), else ``LOGIN_URL``.
- ``prompt=consent``: the consent page, even when consent is remembered or the client
  skips it.
- ``login_hint`` and ``ui_locales`` are added to the login URL as query parameters; a
  site's login view may prefill the username from ``login_hint`` (never trust it) and
  pick the page's language from ``ui_locales``. The consent page is rendered in the first
  ``ui_locales`` language the site supports; its template gets ``ui_locales`` and
  ``acr_values`` (lists) and decides what to do with them.
- The login view must show its form to a user who is already signed in (Django's
  ``LoginView`` does, unless ``redirect_authenticated_user`` is set), or ``prompt=login``
  and ``max_age`` cannot be honoured.
- ``response_mode=form_post``: the answer (code or error) is a page that posts it to the
  redirect URI, instead of a redirect.
- Implicit and hybrid response types (``ALLOW_IMPLICIT_FLOW``, docs/legacy-flows.md):
  the answer is in the redirect URI's fragment unless form_post is asked for.
"""

from __future__ import annotations

import secrets
from contextlib import nullcontext
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.http.response import HttpResponseRedirectBase
from django.shortcuts import render, resolve_url
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from ...conf import oauthkit_settings
from .._oidc_parameters import LOGIN_PROMPTS, resume_params
from ..authorization import AuthorizationRequest
from ..consent import granted_scopes, scope_choices
from ..errors import (
    AccessDenied,
    ConsentRequired,
    FatalAuthorizationError,
    InteractionRequired,
    LoginRequired,
    OAuthError,
)
from ..events import consent_given
from ..front_channel import front_channel_response
from ..issuer import get_issuer
from ..scopes import describe
from ..sessions import authenticated_at, authentication_older_than, session_id
from .base import SECRET_VARIABLES


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
    # A page with its own policy (form_post) includes frame-ancestors 'none' itself.
    response.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


# The consent form posts the request's parameters back: Django's error reports show its
# id_token_hint as stars, and what the view issues (the code, front-channel tokens) and the
# parsed request (``authz``, and ``self`` in its methods) wherever they are kept.
@method_decorator(
    [
        sensitive_post_parameters("id_token_hint"),
        sensitive_variables(
            *SECRET_VARIABLES,
            *("values", "code", "access_token", "id_token", "query", "uri", "response", "context"),
            *("authz", "self"),
        ),
    ],
    name="dispatch",
)
class AuthorizationView(View):
    """GET starts an authorization; POST is the consent page's answer (CSRF-protected)."""

    http_method_names = ["get", "post"]
    #: Where ``prompt=select_account`` sends the user (it comes back to ``next``);
    #: None means ``settings.LOGIN_URL``.
    select_account_url: str | None = None
    #: The self-submitting page of ``response_mode=form_post``.
    form_post_template = "oauthkit/provider/form_post.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return protect_page(self.authorize(request, request.GET, decision=None))

    def post(self, request: HttpRequest) -> HttpResponse:
        decision = request.POST.get("decision")
        if decision not in ("allow", "deny"):
            return protect_page(self.error_page(request, _("The consent answer is missing.")))
        return protect_page(self.authorize(request, request.POST, decision=decision))

    def authorize(self, request: HttpRequest, params: QueryDict, decision: str | None):
        user = request.user if request.user.is_authenticated else None
        try:
            authz = AuthorizationRequest.load(params, user)
        except FatalAuthorizationError as error:
            return self.error_page(request, error.description)
        issuer = get_issuer(request)
        if user is None and "none" not in authz.prompt:
            # RFC 9700 §4.11.2: the user signs in before anything, an error included, is
            # redirected to the client, so that a registered redirect URI cannot be used as
            # an open redirector by anyone who can register a client. prompt=none (silent
            # authentication) is the exception the RFC names: it answers at once.
            return self.login_redirect(request, authz)
        try:
            authz.validate(issuer)
            reason = self.sign_in_reason(request, authz, user)
            if reason is not None:
                if "none" in authz.prompt:
                    raise LoginRequired(reason)
                return self.login_redirect(request, authz)
            with transaction.atomic():
                self.check_consent(request, authz, user, decision)
                values = self.issue(request, authz, user, issuer)
        except OAuthError as error:
            return self.respond(request, authz, error.as_dict(), issuer)
        except ConsentNeeded:
            return self.consent_page(request, authz)
        return self.respond(request, authz, values, issuer)

    def issue(self, request, authz: AuthorizationRequest, user, issuer: str) -> dict[str, str]:
        """The response parameters: a code, or (implicit, hybrid) the front-channel tokens."""
        auth_time, sid = authenticated_at(request, user), session_id(request)
        if not authz.front_channel:
            return {"code": authz.issue_code(user, auth_time, sid=sid)}
        return front_channel_response(
            authz, request=request, user=user, auth_time=auth_time, sid=sid, issuer=issuer
        )

    def sign_in_reason(self, request, authz: AuthorizationRequest, user) -> str | None:
        """Why the user must sign in (again) before a code is issued, or None.

        OIDC Core §3.1.2.1: prompt=login or select_account, max_age exceeded, or an
        id_token_hint naming another user.
        """
        if user is None:
            return "The user is not signed in."
        if authz.prompt & set(LOGIN_PROMPTS):
            return "A new sign-in was requested."
        if authz.max_age is not None and authentication_older_than(request, user, authz.max_age):
            return "The last sign-in is older than max_age."
        if authz.hint_subject is not None and authz.hint_subject != authz.subject(user):
            return "The signed-in user is not the one id_token_hint names."
        return None

    def check_consent(self, request, authz: AuthorizationRequest, user, decision) -> None:
        if decision == "deny":
            consent_given(
                False, request=request, client=authz.client, user=user, scopes=authz.scopes
            )
            raise AccessDenied("The user denied the request.")
        if decision == "allow":
            # Partial consent (RFC 6749 §3.3): the code and tokens carry what was granted.
            requested = authz.scopes
            authz.scopes = granted_scopes(authz.client, requested, request.POST)
            authz.remember_consent(user, declined=[s for s in requested if s not in authz.scopes])
            consent_given(
                True, request=request, client=authz.client, user=user, scopes=authz.scopes
            )
            return
        if "consent" not in authz.prompt and authz.consent_remembered():
            return
        if "none" in authz.prompt:
            if authz.consent_stored() and not authz.identity_assured():
                # RFC 8252 §8.6: the user must see the page; consent alone is not enough.
                raise InteractionRequired("The user must confirm this client again.")
            raise ConsentRequired("The user has not consented to this client.")
        raise ConsentNeeded

    def consent_page(self, request: HttpRequest, authz: AuthorizationRequest) -> HttpResponse:
        context = {
            "client": authz.client,
            "logo_uri": same_site_logo(authz.client.logo_uri, get_issuer(request)),
            "scopes": describe(authz.scopes),
            # Partial consent: required scopes as text, optional ones as ticked checkboxes.
            **scope_choices(authz.client, authz.scopes),
            "hidden_fields": sorted(authz.params.items()),
            "redirect_host": urlsplit(authz.redirect_uri).netloc,
            "ui_locales": authz.ui_locales,
            "acr_values": authz.acr_values,
        }
        language = supported_language(authz.ui_locales)
        with translation.override(language) if language else nullcontext():
            response = render(request, oauthkit_settings.CONSENT_TEMPLATE, context)
        if language:
            response["Content-Language"] = language
        return response

    def error_page(self, request: HttpRequest, description: str) -> HttpResponse:
        return render(
            request, oauthkit_settings.ERROR_TEMPLATE, {"description": description}, status=400
        )

    def login_redirect(self, request: HttpRequest, authz: AuthorizationRequest) -> HttpResponse:
        """To the login page (or ``select_account_url``) with ``next``, ``login_hint`` and
        ``ui_locales``; ``next`` leaves out what asked for the sign-in, so the flow ends."""
        url = settings.LOGIN_URL
        if "select_account" in authz.prompt and self.select_account_url:
            url = self.select_account_url
        parts = urlsplit(resolve_url(url))
        query = QueryDict(parts.query, mutable=True)
        query[REDIRECT_FIELD_NAME] = f"{request.path}?{urlencode(resume_params(authz.params))}"
        for name in ("login_hint", "ui_locales"):
            if name in authz.params:
                query[name] = authz.params[name]
        return HttpResponseRedirect(urlunsplit(parts._replace(query=query.urlencode(safe="/"))))

    def respond(
        self, request: HttpRequest, authz: AuthorizationRequest, values: dict, issuer: str
    ) -> HttpResponse:
        """The answer to the client (a code or an error): a redirect, or a form_post page."""
        if authz.response_mode == "form_post":
            return self.form_post(
                request, authz.redirect_uri, authz.response_values(values, issuer)
            )
        uri = authz.response_uri(values, issuer)
        return ClientRedirect(uri, after_post=request.method == "POST")

    def form_post(self, request: HttpRequest, action: str, values: dict) -> HttpResponse:
        """A page that posts ``values`` to ``action`` by itself (OAuth 2.0 Form Post
        Response Mode §2); the only script allowed is the page's own, by nonce."""
        nonce = secrets.token_urlsafe(18)
        context = {"action": action, "fields": sorted(values.items()), "csp_nonce": nonce}
        response = render(request, self.form_post_template, context)
        # No form-action: browsers apply it to the client's own redirects after the post.
        response["Content-Security-Policy"] = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; base-uri 'none'; "
            "frame-ancestors 'none'"
        )
        return response


def supported_language(tags: list[str]) -> str | None:
    """The first of ``tags`` (BCP 47) that the site has a language for, or None."""
    if not settings.USE_I18N:
        return None
    for tag in tags[:10]:
        try:
            return translation.get_supported_language_variant(tag)
        except (LookupError, ValueError):
            continue
    return None


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
