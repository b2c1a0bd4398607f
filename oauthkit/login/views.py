"""Views of the login side: start, callback, sign-up form, connections, logout.

Views stay thin: the protocol is in ``flow``, account policy in ``accounts`` / the adapter,
stored tokens in ``tokens``, logout in ``logout``. Every failure a person can meet ends on
the error page with a retry link, never a 500.
"""

from __future__ import annotations

import contextlib
import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from oauthkit.conf import oauthkit_settings
from oauthkit.provider.endpoints.authorize import protect_page

from . import accounts, auth_params, flow, logout, signals
from .adapter import get_adapter
from .errors import LoginError
from .models import LinkedAccount, PendingLogin
from .providers import ProviderNotFound, configured_providers, get_provider
from .providers.base import Profile, Provider
from .tokens import revoke_tokens

logger = logging.getLogger("oauthkit.login")

#: Local variables that hold a credential or a token somewhere below the login views: Django's
#: error reports (SafeExceptionReporterFilter: the admins' e-mail, error trackers) show them
#: as stars. Django applies the list of the nearest caller decorated with
#: ``sensitive_variables`` to every frame, so this list on a view covers ``flow``, the
#: providers, ``requests`` and the rest of what the view calls.
SECRET_VARIABLES = (
    # The authorization response (a redirect to it, with the code: CallbackView.post) and the
    # code exchange (flow.finish, redeem_code).
    *("state", "code", "params", "query", "url", "response", "data"),
    # Client authentication and the HTTP request (Provider.client_authentication,
    # ProviderHTTP.request, requests): the secret, the Basic header, the form, its body.
    *("pair", "form", "headers", "kwargs", "body"),
    # The provider's configuration, with its client secret (providers.build_provider).
    *("entry", "entries", "config"),
    # The provider's tokens, and what keeps them (SignInResult, the sign-up session, tokens).
    *("token_response", "result", "saved", "token", "access_token", "id_token", "value"),
    *("sealed", "plaintext"),
    # Keys: stored-token encryption (crypto), private_key_jwt assertions (Provider).
    *("configured", "material"),
)

#: For the views that handle the provider's answers, tokens or client secret.
hide_secret_variables = method_decorator(sensitive_variables(*SECRET_VARIABLES), name="dispatch")


def _provider_or_404(slug: str) -> Provider:
    try:
        return get_provider(slug)
    except (ProviderNotFound, LoginError):
        raise Http404(_("Unknown sign-in provider.")) from None


def safe_next(request: HttpRequest, value: str | None) -> str:
    """``value`` when it stays on this site (no open redirector), else ""."""
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return ""


def default_redirect() -> str:
    return oauthkit_settings.LOGIN["LOGIN_REDIRECT_URL"] or settings.LOGIN_REDIRECT_URL


def error_page(
    request: HttpRequest,
    error: LoginError,
    provider_slug: str | None = None,
    next_url: str = "",
    retry_params: dict[str, str] | None = None,
) -> HttpResponse:
    """The error page: what went wrong in words, and a link to try again.

    The link keeps ``next`` and ``retry_params`` (a step-up's ``max_age``).
    """
    # The code only: descriptions may quote the provider, and nothing here is a secret.
    logger.info("Sign-in with %s failed: %s", provider_slug or "-", error.code)
    retry_url = ""
    if provider_slug:
        retry_url = auth_params.login_url(provider_slug, next_url, **(retry_params or {}))
    response = render(
        request,
        oauthkit_settings.LOGIN["ERROR_TEMPLATE"],
        {"error": error, "code": error.code, "retry_url": retry_url},
        status=error.status,
    )
    return protect_page(response)


class ProviderLoginView(View):
    """``<provider>/login/``: POST (CSRF-protected) sends the browser to the provider.

    GET only shows a "Continue" page (unless LOGIN["LOGIN_ON_GET"]): a link on another site
    must not start a sign-in, which with a provider session would sign the visitor in unasked.

    Beside ``next``, the request may carry ``prompt``, ``max_age``, ``login_hint``,
    ``ui_locales`` and ``acr_values`` (OIDC Core §3.1.2.1; checked in ``auth_params``).
    The "Continue" page posts to its own URL, so a link's parameters come along.
    """

    purpose = PendingLogin.Purpose.LOGIN
    template_name = "oauthkit/login/start.html"

    def get(self, request: HttpRequest, provider: str) -> HttpResponse:
        prov = _provider_or_404(provider)
        next_url = safe_next(request, request.GET.get("next"))
        if oauthkit_settings.LOGIN["LOGIN_ON_GET"]:
            return self.start(request, prov, next_url)
        try:
            # A bad link is refused now, not after the person pressed "Continue".
            params = auth_params.from_request(request)
        except LoginError as exc:
            return error_page(request, exc, prov.slug, next_url)
        context = {"provider": prov, "next": next_url, "auth_params": params}
        return protect_page(render(request, self.template_name, context))

    def post(self, request: HttpRequest, provider: str) -> HttpResponse:
        prov = _provider_or_404(provider)
        return self.start(request, prov, safe_next(request, request.POST.get("next")))

    def start(self, request: HttpRequest, prov: Provider, next_url: str) -> HttpResponse:
        provider = prov.slug
        try:
            params = auth_params.from_request(request)
            url = flow.begin(
                request, prov, purpose=self.purpose, next_url=next_url, auth_params=params
            )
        except LoginError as exc:
            return error_page(request, exc, provider, next_url)
        return protect_page(HttpResponseRedirect(url))


class ConnectView(LoginRequiredMixin, ProviderLoginView):
    """``<provider>/connect/`` (POST): link another provider account to the signed-in user."""

    purpose = PendingLogin.Purpose.CONNECT
    http_method_names = ["post"]

    def post(self, request: HttpRequest, provider: str) -> HttpResponse:
        if not request.POST.get("next"):
            request.POST = request.POST.copy()
            request.POST["next"] = reverse("oauthkit_login:connections")
        return super().post(request, provider)


@method_decorator(csrf_exempt, name="dispatch")
# A form_post answer (OAuth 2.0 Form Post Response Mode §2) posts the code, the state and any
# token; Apple's ``user`` is personal data, kept out of logs as out of the URL.
@method_decorator(
    sensitive_post_parameters("code", "state", "id_token", "access_token", "user"),
    name="dispatch",
)
@hide_secret_variables
class CallbackView(View):
    """``<provider>/callback/``: the authorization response (RFC 6749 §4.1.2)."""

    def get(self, request: HttpRequest, provider: str) -> HttpResponse:
        prov = _provider_or_404(provider)
        result = None
        params = request.GET.copy()
        posted = flow.take_posted_fields(params.get("state"))
        for name, value in posted.items():
            params.setdefault(name, value)
        try:
            result = flow.finish(request, prov, params)
            accounts.complete(request, result)
        except accounts.UsernameNeeded:
            return HttpResponseRedirect(reverse("oauthkit_login:signup"))
        except LoginError as exc:
            if result:  # refused after the callback's checks (account policy ...)
                exc.next_url = result.pending.next_url
                exc.retry_params = flow.retry_params(result.pending)
            return error_page(request, exc, provider, exc.next_url, exc.retry_params)
        if result.pending.purpose == PendingLogin.Purpose.CONNECT:
            messages.success(request, _("Account connected."))
            target = result.pending.next_url or reverse("oauthkit_login:connections")
        else:
            auth_params.remember_auth_time(request, result.id_claims)
            target = result.pending.next_url or default_redirect()
        return protect_page(HttpResponseRedirect(target))

    def post(self, request: HttpRequest, provider: str) -> HttpResponse:
        # response_mode=form_post (Apple): a cross-site POST carries no SameSite=Lax session
        # cookie, so continue as a same-site GET, where the browser binding can be checked.
        # Fields that carry personal data (Apple's `user`: name and email) are kept
        # server-side under the state instead of going into the URL and access logs.
        params = request.POST.copy()
        flow.keep_posted_fields(params)
        url = request.path + "?" + params.urlencode()
        return protect_page(HttpResponseRedirect(url, status=303))


class SignupForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150)

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        field = get_user_model()._meta.get_field(get_user_model().USERNAME_FIELD)
        for validator in field.validators:
            validator(username)
        if not get_adapter().username_is_free(username):
            raise ValidationError(_("This username is taken. Pick another one."))
        return username


@hide_secret_variables
class SignupView(View):
    """``signup/``: pick a username when the one from the provider is taken."""

    template_name = "oauthkit/login/signup.html"

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.saved = accounts.load_for_signup(request)
        if self.saved is None:
            return error_page(request, LoginError(_("Start signing in again."), code="no_signup"))
        return protect_page(super().dispatch(request, *args, **kwargs))

    def get(self, request: HttpRequest) -> HttpResponse:
        suggestion = get_adapter().suggested_username(Profile(**self.saved["profile"]))
        return self.page(request, SignupForm(initial={"username": suggestion}))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SignupForm(request.POST)
        if not form.is_valid():
            return self.page(request, form)
        saved = self.saved
        try:
            provider = get_provider(saved["provider"])
            result = flow.SignInResult(
                provider=provider,
                pending=PendingLogin(next_url=saved["next_url"]),
                profile=Profile(**saved["profile"]),
                token_response=saved["token_response"],
                id_claims=saved["id_claims"],
            )
            del request.session[accounts.SIGNUP_SESSION_KEY]
            accounts.create_user(request, result, form.cleaned_data["username"])
            auth_params.remember_auth_time(request, result.id_claims)
        except (ProviderNotFound, LoginError) as exc:
            error = exc if isinstance(exc, LoginError) else LoginError()
            return error_page(request, error, saved["provider"])
        return HttpResponseRedirect(saved["next_url"] or default_redirect())

    def page(self, request: HttpRequest, form: SignupForm) -> HttpResponse:
        context = {"form": form, "provider_slug": self.saved["provider"]}
        return render(request, self.template_name, context)


class ConnectionsView(LoginRequiredMixin, View):
    """``connections``: the user's linked accounts, with connect and disconnect buttons."""

    template_name = "oauthkit/login/connections.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        adapter = get_adapter()
        linked = list(LinkedAccount.objects.filter(user=request.user).order_by("created_at"))
        providers = {p.slug: p for p in configured_providers()}
        rows = [
            {
                "account": account,
                "provider_name": getattr(providers.get(account.provider), "name", "")
                or account.provider,
                "can_disconnect": adapter.can_disconnect(request.user, account),
            }
            for account in linked
        ]
        linked_slugs = {account.provider for account in linked}
        available = [p for slug, p in providers.items() if slug not in linked_slugs]
        context = {"rows": rows, "providers": available}
        return protect_page(render(request, self.template_name, context))


@hide_secret_variables
class DisconnectView(LoginRequiredMixin, View):
    """``disconnect/<id>/`` (POST): unlink, never the last way to sign in."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = get_object_or_404(LinkedAccount, pk=pk, user=request.user)
        if not get_adapter().can_disconnect(request.user, account):
            messages.error(
                request,
                _("This is your only way to sign in. Set a password or connect another first."),
            )
            return HttpResponseRedirect(reverse("oauthkit_login:connections"))
        revoke_tokens(account)
        provider_cls = None
        with contextlib.suppress(ProviderNotFound, LoginError):
            provider_cls = type(get_provider(account.provider))
        account.delete()
        signals.account_unlinked.send(
            provider_cls, request=request, user=request.user, account=account
        )
        messages.success(request, _("Account disconnected."))
        return HttpResponseRedirect(reverse("oauthkit_login:connections"))


@hide_secret_variables
class LogoutView(View):
    """``logout/`` (POST): log out here, and at the provider when LOGIN["RP_LOGOUT"] is on."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        return HttpResponseRedirect(logout.log_out(request))


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(sensitive_post_parameters("logout_token"), name="dispatch")
@hide_secret_variables
class BackchannelLogoutView(View):
    """``<provider>/backchannel-logout/`` (POST): OIDC Back-Channel Logout §2.5 receiver."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, provider: str) -> HttpResponse:
        prov = _provider_or_404(provider)
        try:
            logout.receive_logout_token(prov, request.POST.get("logout_token"))
        except LoginError as exc:
            body = {"error": "invalid_request", "error_description": exc.description}
            response = JsonResponse(body, status=400)
        else:
            response = HttpResponse(status=200)
        response["Cache-Control"] = "no-store"  # §2.8
        return response


def whoami(request: HttpRequest) -> JsonResponse:
    """The signed-in user and their linked accounts as JSON, or 401."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "not_authenticated"}, status=401)
    user = request.user
    linked = LinkedAccount.objects.filter(user=user).order_by("created_at")
    return JsonResponse(
        {
            "username": user.get_username(),
            "email": getattr(user, "email", ""),
            "linked_accounts": [
                {"provider": a.provider, "subject": a.subject, "email": a.email} for a in linked
            ],
        }
    )
