"""``{% load oauthkit_login %}``: sign-in buttons and URLs.

``{% oauthkit_login_buttons %}`` renders one button (a POST form) per configured provider,
keeping the page's ``next``; ``{% oauthkit_login_url "google" %}`` is one provider's start
page, for a plain link (it shows a "Continue" button that POSTs).

Both take the sign-in's authentication parameters as optional keywords (OIDC Core
§3.1.2.1), e.g. a step-up before a sensitive page::

    {% oauthkit_login_url "corp" next_url=request.path max_age=0 prompt="login" %}
"""

from __future__ import annotations

from django import template

from ..auth_params import login_url
from ..providers import configured_providers

register = template.Library()


@register.simple_tag(takes_context=True)
def oauthkit_login_url(
    context: template.Context,
    slug: str,
    next_url: str | None = None,
    prompt: str | None = None,
    max_age: int | str | None = None,
    login_hint: str | None = None,
    ui_locales: str | None = None,
    acr_values: str | None = None,
) -> str:
    """The URL that starts signing in with ``slug``; ``next`` defaults to the page's own."""
    request = context.get("request")
    if next_url is None and request is not None:
        next_url = request.GET.get("next")
    return login_url(
        slug,
        next_url,
        prompt=prompt,
        max_age=max_age,
        login_hint=login_hint,
        ui_locales=ui_locales,
        acr_values=acr_values,
    )


@register.inclusion_tag("oauthkit/login/buttons.html", takes_context=True)
def oauthkit_login_buttons(
    context: template.Context,
    next_url: str | None = None,
    prompt: str | None = None,
    max_age: int | str | None = None,
    login_hint: str | None = None,
    ui_locales: str | None = None,
    acr_values: str | None = None,
) -> dict:
    """One "Sign in with ..." button (a POST form with CSRF token) per enabled provider."""
    request = context.get("request")
    if next_url is None and request is not None:
        next_url = request.GET.get("next")
    params = {
        "prompt": prompt,
        "max_age": max_age,
        "login_hint": login_hint,
        "ui_locales": ui_locales,
        "acr_values": acr_values,
    }
    return {
        "buttons": [
            {
                "slug": p.slug,
                "name": p.name or p.slug,
                # The parameters ride in the form's action URL; the view reads them there.
                "url": login_url(p.slug, **params),
            }
            for p in configured_providers()
        ],
        "next": next_url or "",
        # Inclusion tags get a fresh context: {% csrf_token %} needs the token passed on.
        "csrf_token": context.get("csrf_token"),
    }
