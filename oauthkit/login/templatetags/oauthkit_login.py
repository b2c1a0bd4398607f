"""``{% load oauthkit_login %}``: sign-in buttons and URLs.

``{% oauthkit_login_buttons %}`` renders one button (a POST form) per configured provider,
keeping the page's ``next``; ``{% oauthkit_login_url "google" %}`` is one provider's start
page, for a plain link (it shows a "Continue" button that POSTs).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.urls import reverse

from ..providers import configured_providers

register = template.Library()


def _login_url(slug: str, next_url: str | None) -> str:
    url = reverse("oauthkit_login:login", args=[slug])
    return url + "?" + urlencode({"next": next_url}) if next_url else url


@register.simple_tag(takes_context=True)
def oauthkit_login_url(context: template.Context, slug: str, next_url: str | None = None) -> str:
    """The URL that starts signing in with ``slug``."""
    request = context.get("request")
    if next_url is None and request is not None:
        next_url = request.GET.get("next")
    return _login_url(slug, next_url)


@register.inclusion_tag("oauthkit/login/buttons.html", takes_context=True)
def oauthkit_login_buttons(context: template.Context, next_url: str | None = None) -> dict:
    """One "Sign in with ..." button (a POST form with CSRF token) per enabled provider."""
    request = context.get("request")
    if next_url is None and request is not None:
        next_url = request.GET.get("next")
    return {
        "buttons": [
            {
                "slug": p.slug,
                "name": p.name or p.slug,
                "url": reverse("oauthkit_login:login", args=[p.slug]),
            }
            for p in configured_providers()
        ],
        "next": next_url or "",
        # Inclusion tags get a fresh context: {% csrf_token %} needs the token passed on.
        "csrf_token": context.get("csrf_token"),
    }
