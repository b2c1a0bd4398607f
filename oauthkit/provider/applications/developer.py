"""The "Developer applications" pages: people register and manage their own clients.

On when ``DEVELOPER_APPLICATIONS`` is true (else every page is a 404); a signed-in user
needs ``DEVELOPER_APPLICATIONS_PERMISSION`` (None: no permission) or sees a 403 page.
A user only ever finds their own clients (``Client.owner``); any other is a 404.

A client secret is shown once: the request that makes it keeps the raw value in the
session, and the next view of the client's page takes it out again. It is never in a
URL, and a reload or the back button shows it no more (docs/applications.md).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from ...conf import oauthkit_settings
from ..models import Client
from ..receivers import revoke_tokens
from ._pages import ApplicationPage, notify, see_other
from .forms import DeveloperClientForm

logger = logging.getLogger("oauthkit.provider")

#: Session key of a raw secret waiting to be shown once: {"client": pk, "secret": raw}.
SECRET_SESSION_KEY = "oauthkit_developer_secret"


class DeveloperPage(ApplicationPage):
    """Base of the developer pages: the switch, the permission, the owner's clients."""

    section = "developer"
    forbidden_template_name = "oauthkit/provider/applications/developer_forbidden.html"

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not oauthkit_settings.DEVELOPER_APPLICATIONS:
            raise Http404("Developer applications are turned off.")
        return super().dispatch(request, *args, **kwargs)

    def refuse(self, request: HttpRequest) -> HttpResponse | None:
        permission = oauthkit_settings.DEVELOPER_APPLICATIONS_PERMISSION
        if permission and not request.user.has_perm(permission):
            return self.render(request, self.forbidden_template_name, {}, status=403)
        return None

    def get_client(self, request: HttpRequest, pk: int) -> Client:
        return get_object_or_404(Client, pk=pk, owner=request.user)

    def client_url(self, client: Client) -> str:
        return reverse("oauthkit:developer_application", args=(client.pk,))

    def keep_secret_for_one_view(self, request: HttpRequest, client: Client, raw: str) -> None:
        request.session[SECRET_SESSION_KEY] = {"client": client.pk, "secret": raw}


class DeveloperApplicationsView(DeveloperPage):
    """The user's own clients."""

    template_name = "oauthkit/provider/applications/developer_list.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        clients = Client.objects.filter(owner=request.user).order_by("name", "pk")
        return self.render(request, self.template_name, {"clients": clients})


class DeveloperApplicationCreateView(DeveloperPage):
    """Register a client; a confidential one's secret is shown on the next page, once."""

    template_name = "oauthkit/provider/applications/developer_form.html"
    form_class = DeveloperClientForm

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(request, self.template_name, {"form": self.form_class()})

    # The new secret, here and in keep_secret_for_one_view: stars in Django's error reports.
    @sensitive_variables("raw")
    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form_class(request.POST)
        if not form.is_valid():
            return self.render(request, self.template_name, {"form": form})
        with transaction.atomic():
            client = form.save(commit=False)
            client.owner = request.user
            raw = None if client.is_public else client.set_new_secret()
            client.save()
        logger.info("client registered: client=%s owner=%s", client.client_id, request.user.pk)
        if raw:
            self.keep_secret_for_one_view(request, client, raw)
        notify(request, _("%(name)s is registered.") % {"name": client.name})
        return see_other(self.client_url(client))


class DeveloperApplicationView(DeveloperPage):
    """A client's details, its secret once after it was made, and the edit form."""

    template_name = "oauthkit/provider/applications/developer_detail.html"
    form_class = DeveloperClientForm

    # The secret shown once, here, in page() and in render()'s context.
    @sensitive_variables("waiting", "secret", "context")
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        client = self.get_client(request, pk)
        # Taken out whatever the client: a secret not shown now is never shown.
        waiting = request.session.pop(SECRET_SESSION_KEY, None)
        secret = waiting["secret"] if waiting and waiting.get("client") == client.pk else None
        form = self.form_class(instance=client)
        return self.page(request, client, form, secret=secret)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        client = self.get_client(request, pk)
        form = self.form_class(request.POST, instance=client)
        if not form.is_valid():
            return self.page(request, Client.objects.get(pk=client.pk), form)
        # save() sends post_save, which drops every cached copy in this process
        # (client_cache); other processes follow within CLIENT_CACHE_TIMEOUT.
        form.save()
        logger.info("client changed: client=%s owner=%s", client.client_id, request.user.pk)
        notify(request, _("Your changes are saved."))
        return see_other(self.client_url(client))

    def page(self, request, client: Client, form, *, secret: str | None = None):
        context = {
            "client": client,
            "form": form,
            "secret": secret,
            "authorization_endpoint": request.build_absolute_uri(reverse("oauthkit:authorization")),
            "token_endpoint": request.build_absolute_uri(reverse("oauthkit:token")),
        }
        return self.render(request, self.template_name, context)


class DeveloperSecretView(DeveloperPage):
    """GET asks for confirmation; POST replaces the secret, shown once on the next page."""

    template_name = "oauthkit/provider/applications/developer_secret.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        client = self.get_confidential_client(request, pk)
        return self.render(request, self.template_name, {"client": client})

    @sensitive_variables("raw")
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        client = self.get_confidential_client(request, pk)
        raw = client.set_new_secret()
        client.save(update_fields=["secret_hash", "updated"])
        logger.info("client secret regenerated: client=%s", client.client_id)
        self.keep_secret_for_one_view(request, client, raw)
        notify(request, _("A new secret was made; the old one no longer works."))
        return see_other(self.client_url(client))

    def get_confidential_client(self, request: HttpRequest, pk: int) -> Client:
        client = self.get_client(request, pk)
        if client.is_public:
            raise Http404("A public client has no secret.")
        return client


class DeveloperDeleteView(DeveloperPage):
    """GET asks for confirmation; POST revokes the client's tokens and deletes it."""

    template_name = "oauthkit/provider/applications/developer_delete.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        client = self.get_client(request, pk)
        return self.render(request, self.template_name, {"client": client})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        client = self.get_client(request, pk)
        with transaction.atomic():
            # Revoked before the rows go, so that revoked JWT ids reach the shared
            # revocation list and APIs refuse them at once.
            revoke_tokens(client=client, reason="client_deleted")
            client.delete()
        logger.info("client deleted: client=%s owner=%s", client.client_id, request.user.pk)
        notify(request, _("%(name)s is deleted.") % {"name": client.name})
        return see_other(reverse("oauthkit:developer_applications"))
