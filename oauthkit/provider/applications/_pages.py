"""What every application page shares: sign-in required, security headers, messages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import AccessMixin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.views import View

from ...conf import oauthkit_settings
from ..endpoints.authorize import protect_page


class ApplicationPage(AccessMixin, View):
    """A page for a signed-in person; anonymous visitors go to ``LOGIN_URL`` with ``next``.

    Every answer, redirects included, carries ``protect_page()`` headers: no framing
    (RFC 9700 §4.16), no referrer, never cached (grants and secrets are shown here).
    """

    http_method_names = ["get", "post"]
    #: Which link of the pages' navigation is the current page.
    section = ""
    # AccessMixin: an anonymous visitor is sent to sign in, never shown a 403.
    raise_exception = False

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return protect_page(self.handle_no_permission())
        refusal = self.refuse(request)
        if refusal is not None:
            return protect_page(refusal)
        return protect_page(super().dispatch(request, *args, **kwargs))

    def refuse(self, request: HttpRequest) -> HttpResponse | None:
        """A page answering instead of this one when the signed-in user may not use it."""
        return None

    def render(
        self, request: HttpRequest, template: str, context: dict, status: int = 200
    ) -> TemplateResponse:
        context = {
            "section": self.section,
            "developer_applications_enabled": oauthkit_settings.DEVELOPER_APPLICATIONS,
            **context,
        }
        return TemplateResponse(request, template, context, status=status)


def notify(request: HttpRequest, text: str) -> None:
    """A one-time note on the next page, when the site uses ``django.contrib.messages``."""
    messages.success(request, text, fail_silently=True)


def see_other(url: str) -> HttpResponseRedirect:
    """303 after a POST, so that reloading the next page never repeats the action."""
    return HttpResponseRedirect(url, status=303)
