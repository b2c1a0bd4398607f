"""The "Authorized applications" page: what a user has let clients do, and taking it back."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from ..endpoints.authorize import same_site_logo
from ..issuer import get_issuer
from ..models import Client
from ._pages import ApplicationPage, notify, see_other
from .authorizations import authorized_clients, revoke_authorization


class AuthorizedApplicationsView(ApplicationPage):
    """GET lists the clients the user authorized. POST ``client`` asks for confirmation;
    POST ``client`` with ``confirm`` revokes, then redirects back to the list (303)."""

    section = "authorized"
    template_name = "oauthkit/provider/applications/authorized.html"
    confirm_template_name = "oauthkit/provider/applications/authorized_revoke.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        issuer = get_issuer(request)
        applications = authorized_clients(request.user)
        for application in applications:
            # No third-party resources on the provider's pages (RFC 9700 §4.16).
            application.logo_uri = same_site_logo(application.client.logo_uri, issuer)
        return self.render(request, self.template_name, {"applications": applications})

    def post(self, request: HttpRequest) -> HttpResponse:
        client = self.get_client(request)
        if not request.POST.get("confirm"):
            return self.render(request, self.confirm_template_name, {"client": client})
        revoke_authorization(request.user, client)
        notify(request, _("%(name)s no longer has access to your account.") % {"name": client.name})
        return see_other(reverse("oauthkit:authorized_applications"))

    def get_client(self, request: HttpRequest) -> Client:
        client_id = request.POST.get("client", "")
        client = Client.objects.filter(client_id=client_id).first() if client_id else None
        if client is None:
            raise Http404(_("No such application."))
        return client
