"""Device authorization endpoint and verification page (RFC 8628 §3.1-3.3).

``DeviceAuthorizationView`` answers the device's request with a device code, a user code
and where to enter it. ``DeviceVerificationView`` is that page: a signed-in user types
the code (or arrives with it in ``verification_uri_complete``), sees which application
asks for what, and allows or denies. Wrong codes are rate-limited per user and per IP
address (RFC 8628 §5.1), so that codes cannot be guessed.
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from ...conf import oauthkit_settings
from ..client_auth import authenticate_client
from ..consent import granted_scopes, scope_choices
from ..device import (
    DEVICE_CODE_GRANT_TYPE,
    create_device_authorization,
    decide,
    find_by_user_code,
    format_user_code,
    is_pending,
    normalize_user_code,
)
from ..errors import UnauthorizedClient, UnsupportedGrantType
from ..events import consent_given
from ..grants.base import grant_registry
from ..issuer import get_issuer
from ..metadata import endpoint_url
from ..models import DeviceAuthorization
from ..resources import requested_resource
from ..scopes import describe, resolve_scopes
from ..sessions import authenticated_at, session_id
from ..throttle import Throttle, client_ip
from .authorize import protect_page, same_site_logo
from .base import SECRET_VARIABLES, BackChannelView, json_response


class DeviceAuthorizationView(BackChannelView):
    """RFC 8628 §3.1: POST client authentication, ``scope`` and ``resource``; the answer
    is §3.2's device_code, user_code, verification URIs, expires_in and interval."""

    def process(self, request: HttpRequest, params: QueryDict) -> HttpResponse:
        if DEVICE_CODE_GRANT_TYPE not in grant_registry():
            raise UnsupportedGrantType("The device authorization grant is not enabled.")
        client = authenticate_client(request, params)
        if not client.allows_grant_type(DEVICE_CODE_GRANT_TYPE):
            raise UnauthorizedClient("This client may not use the device authorization grant.")
        scopes = resolve_scopes(client, params.get("scope"))
        issuer = get_issuer(request)
        resource = requested_resource(params, client, issuer=issuer)
        with transaction.atomic():
            issued = create_device_authorization(client, scopes, resource)
        verification_uri = endpoint_url(issuer, "oauthkit:device_verification")
        authorization = issued.authorization
        return json_response(
            {
                "device_code": issued.device_code,
                "user_code": issued.user_code,
                "verification_uri": verification_uri,
                # §3.3.1: the code in the URI, so a QR code spares the typing.
                "verification_uri_complete": f"{verification_uri}?user_code={issued.user_code}",
                "expires_in": int(
                    (authorization.expires_at - authorization.created).total_seconds()
                ),
                "interval": authorization.interval,
            }
        )


# A user code is what a guesser is after (RFC 8628 §5.1): Django's error reports show it,
# as typed or normalized, as stars.
@method_decorator(
    [
        sensitive_post_parameters("user_code"),
        sensitive_variables(*SECRET_VARIABLES, "typed", "code", "context"),
    ],
    name="dispatch",
)
class DeviceVerificationView(View):
    """The page where a signed-in user enters a user code and allows or denies the device.

    GET shows the form, or the confirmation when ``user_code`` is in the query
    (``verification_uri_complete``). POST with ``user_code`` looks the code up; with
    ``decision`` (``allow`` / ``deny``) as well, it records the answer. Templates are
    class attributes, so a site may subclass and replace them.
    """

    http_method_names = ["get", "post"]
    template_name = "oauthkit/provider/device.html"
    confirm_template_name = "oauthkit/provider/device_confirm.html"
    done_template_name = "oauthkit/provider/device_done.html"
    throttle = Throttle("device_user_code")

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            # Back here after signing in, with the code of verification_uri_complete kept.
            return protect_page(redirect_to_login(request.get_full_path()))
        return protect_page(super().dispatch(request, *args, **kwargs))

    def get(self, request: HttpRequest) -> HttpResponse:
        typed = request.GET.get("user_code")
        if typed is None:
            return self.entry_page(request)
        return self.check_code(request, typed, decision=None)

    def post(self, request: HttpRequest) -> HttpResponse:
        decision = request.POST.get("decision")
        if decision not in ("allow", "deny"):
            decision = None
        return self.check_code(request, request.POST.get("user_code", ""), decision=decision)

    def check_code(self, request: HttpRequest, typed: str, decision: str | None) -> HttpResponse:
        if not typed.strip():
            return self.entry_page(request, error=_("Enter the code shown on your device."))
        keys = (f"user:{request.user.pk}", f"ip:{client_ip(request)}")
        if self.throttle.blocked(*keys):
            message = _("Too many attempts. Wait a few minutes, then try again.")
            return self.entry_page(request, typed, error=message, status=429)
        code = normalize_user_code(typed)
        authorization, problem = self.find(code)
        if authorization is None:
            # Only codes that lead nowhere count: they are what a guesser sends.
            self.throttle.failure(*keys)
            return self.entry_page(request, typed, error=problem)
        if decision is None:
            return self.confirm_page(request, authorization, code)
        return self.record_decision(request, authorization, allow=decision == "allow")

    def find(self, code: str | None) -> tuple[DeviceAuthorization | None, str]:
        """The pending authorization of a normalized code, or None and what to tell the user."""
        authorization = find_by_user_code(code) if code else None
        if authorization is None or not authorization.client.is_active:
            return None, _(
                "That code is not valid. Check the code shown on your device and try again."
            )
        if authorization.status != DeviceAuthorization.Status.PENDING:
            return None, _(
                "That code has already been used. Start again on your device to get a new code."
            )
        if not is_pending(authorization):
            return None, _("That code has expired. Start again on your device to get a new code.")
        return authorization, ""

    def record_decision(
        self, request: HttpRequest, authorization: DeviceAuthorization, *, allow: bool
    ) -> HttpResponse:
        user = request.user
        requested = authorization.requested_scope.split()
        # Partial consent, as on the authorization page (oauthkit.provider.consent).
        granted = granted_scopes(authorization.client, requested, request.POST)
        with transaction.atomic():
            decided = decide(
                authorization,
                allow=allow,
                user=user,
                auth_time=authenticated_at(request, user),
                sid=session_id(request),
                scopes=granted,
            )
        if not decided:
            # Answered in another tab, or expired, since the code was looked up.
            return self.entry_page(
                request, error=_("That code can no longer be used. Start again on your device.")
            )
        consent_given(
            allow,
            request=request,
            client=authorization.client,
            user=user,
            scopes=granted if allow else requested,
        )
        context = {"client": authorization.client, "allowed": allow}
        return render(request, self.done_template_name, context)

    def entry_page(
        self, request: HttpRequest, typed: str = "", *, error: str = "", status: int | None = None
    ) -> HttpResponse:
        context = {
            "user_code": typed.strip()[:20],  # the field's maxlength
            "error": error,
            "code_minutes": int(oauthkit_settings.DEVICE_CODE_LIFETIME.total_seconds() // 60),
        }
        return render(
            request, self.template_name, context, status=status or (400 if error else 200)
        )

    def confirm_page(
        self, request: HttpRequest, authorization: DeviceAuthorization, code: str
    ) -> HttpResponse:
        client = authorization.client
        context = {
            "client": client,
            "logo_uri": same_site_logo(client.logo_uri, get_issuer(request)),
            "scopes": describe(authorization.requested_scope.split()),
            **scope_choices(client, authorization.requested_scope.split()),
            # Shown so the user can compare it with the device's (RFC 8628 §5.4).
            "user_code": format_user_code(code),
        }
        return render(request, self.confirm_template_name, context)
