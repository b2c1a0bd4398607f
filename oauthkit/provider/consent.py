"""Partial consent: which requested scopes the user may untick, and what was granted.

RFC 6749 §3.3: the server may issue fewer scopes than requested "based on ... the
resource owner's instructions", and then says so in the ``scope`` response parameter.
The consent page shows the optional scopes as ticked checkboxes (``SCOPE_FIELD``) and
the required ones as plain text; it also names the optional scopes it showed
(``OFFERED_FIELD``), so that an unticked box (which a browser does not send) reads as
"declined". A form without ``OFFERED_FIELD`` (a site template without checkboxes)
grants every requested scope, as before partial consent existed.
"""

from __future__ import annotations

from django.http import QueryDict

from .errors import InvalidScope
from .models import Client
from .scopes import describe, format_scope, parse_scope

#: The consent form's checkboxes: one per optional scope, ticked when granted.
SCOPE_FIELD = "scope_granted"
#: The consent form's hidden list of the optional scopes it showed, space-separated.
OFFERED_FIELD = "scope_offered"


def required_scopes(client: Client, requested: list[str]) -> list[str]:
    """The requested scopes the user cannot untick: the client's ``required_scopes``,
    and ``openid`` (without it the request is no OpenID Connect request at all)."""
    required = set(client.required_scopes or []) | {"openid"}
    return [s for s in requested if s in required]


def optional_scopes(client: Client, requested: list[str]) -> list[str]:
    """The requested scopes the user may untick on the consent page."""
    required = set(required_scopes(client, requested))
    return [s for s in requested if s not in required]


def granted_scopes(client: Client, requested: list[str], answer: QueryDict) -> list[str]:
    """The subset of ``requested`` the consent form's ``answer`` grants, in request order.

    Only scopes that were offered can be declined, and only requested scopes can be
    granted: a forged extra value in ``answer`` never widens the grant. Unticking every
    optional scope leaves the required ones, possibly none: the token then carries an
    empty scope (the user's instruction; a default scope would grant what they refused).
    """
    try:
        offered = set(parse_scope(answer.get(OFFERED_FIELD)))
    except InvalidScope:  # a malformed list offers nothing to decline
        offered = set()
    ticked = set(answer.getlist(SCOPE_FIELD))
    declined = (offered - ticked) - set(required_scopes(client, requested))
    return [s for s in requested if s not in declined]


def scope_choices(client: Client, requested: list[str]) -> dict:
    """Template context for the scope list of a consent page (the authorization and the
    device verification pages): ``required_scopes`` and ``optional_scopes`` as (name,
    description) pairs, and the form's field names; see ``_scope_choices.html``."""
    optional = optional_scopes(client, requested)
    return {
        "required_scopes": describe(required_scopes(client, requested)),
        "optional_scopes": describe(optional),
        "scope_field": SCOPE_FIELD,
        "offered_field": OFFERED_FIELD,
        "offered_scopes": format_scope(optional),
    }
