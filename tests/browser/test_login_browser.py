"""oauthkit.login in a browser: the example site's "Sign in with oauthkit demo" button,
through its own provider on the live server, and the login side's pages."""

from __future__ import annotations

import re

import pytest
from django.http import HttpResponse
from django.template import RequestContext, Template
from django.urls import path

from oauthkit.login.models import LinkedAccount
from oauthkit.login.views import whoami
from oauthkit.testing.factories import ClientFactory, UserFactory
from tests.urls import urlpatterns as base_urlpatterns


def buttons(request):
    page = Template(
        "{% load oauthkit_login %}<!DOCTYPE html><title>Buttons</title>"
        '<main>{% oauthkit_login_buttons next_url="/accounts/whoami/" %}</main>'
    )
    return HttpResponse(page.render(RequestContext(request)))


urlpatterns = [
    *base_urlpatterns,
    path("buttons/", buttons),
    path("accounts/whoami/", whoami),
]


@pytest.fixture
def demo_provider(live_server, settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ISSUER": live_server.url}
    client = ClientFactory(
        redirect_uris=[f"{live_server.url}/accounts/oauth/oauthkit-demo/callback/"]
    )
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "LOGIN": {
            "PROVIDERS": {
                "oauthkit-demo": {
                    "name": "oauthkit demo",
                    "issuer": live_server.url,
                    "client_id": client.client_id,
                    "client_secret": client.raw_secret,
                }
            },
            "ADAPTER": "example_project.login_adapter.ExampleLoginAdapter",
        },
    }
    return client


@pytest.mark.urls(__name__)
def test_sign_in_with_oauthkit_demo_button(page, demo_provider, shot, sign_in):
    demo = UserFactory(username="demo")
    page.goto("/buttons/")
    page.get_by_role("button", name="Sign in with oauthkit demo").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    sign_in(page, "demo", "password")
    page.wait_for_url(re.compile(r"/o/authorize/"))
    shot(page, "consent")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(re.compile(r"/accounts/whoami/$"))
    assert '"username": "demo"' in page.content()
    assert LinkedAccount.objects.get().user == demo

    page.goto("/accounts/oauth/")
    page.get_by_role("heading", name="Connected accounts").wait_for()
    assert "cannot be disconnected" not in page.content()  # demo has a password
    assert "Connect oauthkit demo" not in page.content()  # already connected
    shot(page, "connections")


@pytest.mark.urls(__name__)
def test_error_page_offers_a_retry(page, demo_provider, shot):
    page.goto("/accounts/oauth/oauthkit-demo/callback/?code=x&state=forged")
    page.get_by_role("heading", name="Signing in did not work").wait_for()
    shot(page, "error")
    page.get_by_role("link", name="Try again").click()
    page.get_by_role("button", name="Continue").wait_for()
    shot(page, "continue")
