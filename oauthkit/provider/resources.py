"""Resource indicators (RFC 8707): a client names the API it wants a token for.

A request may carry ``resource``, the absolute URI of the API (RFC 8707 §2). It must be
one of the client's ``allowed_resources`` or the site's default audience, and it becomes
the access token's ``aud``; without it the token keeps the default audience. Only one
resource per request is supported, so a token is always meant for exactly one API.

A refresh token keeps the resource its grant was authorized for (the authorization or device
request's ``resource``, ``RefreshToken.resource``): its refreshes may repeat it or leave it
out, not name another (RFC 8707 §2.2, RFC 9700 §4.14.2, ``Grant.audience_of``). A grant
authorized without one lets each refresh name any resource the client is allowed, and one
without ``resource`` gets the default audience.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.http import QueryDict
from django.utils.translation import gettext as _

from .errors import InvalidTarget
from .tokens import default_audience

RESOURCE_PARAMETER = "resource"

# RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


def resource_uri_error(uri) -> str | None:
    """What makes ``uri`` unfit as a resource indicator, or None (RFC 8707 §2)."""
    if not isinstance(uri, str) or not uri:
        return _("A resource must be a non-empty string.")
    if any(c.isspace() or not c.isprintable() for c in uri):
        return _("%(uri)s contains whitespace or control characters.") % {"uri": uri}
    if "#" in uri:
        return _("%(uri)s must not contain a fragment.") % {"uri": uri}
    try:
        parts = urlsplit(uri)
    except ValueError:
        return _("%(uri)s is not a valid URI.") % {"uri": uri}
    # RFC 3986 §4.3: an absolute URI has a scheme; a web API has a host as well.
    if (
        not parts.scheme
        or not _SCHEME.fullmatch(parts.scheme)
        or not uri.startswith(parts.scheme + ":")
    ):
        return _("%(uri)s is not an absolute URI.") % {"uri": uri}
    if parts.scheme.lower() in ("http", "https") and not parts.hostname:
        return _("%(uri)s has no host.") % {"uri": uri}
    return None


def resource_list_errors(resources) -> list[str]:
    """What is wrong with a client's ``allowed_resources`` (for ``Client.clean()``)."""
    if not isinstance(resources, list):
        return [_("Enter a list of resource URIs.")]
    return [error for uri in resources if (error := resource_uri_error(uri))]


def check_resource(client, uri: str, *, issuer: str) -> str:
    """``uri`` when the client may request a token for it, else ``InvalidTarget``.

    Compared as exact strings (RFC 3986 §6.2.1), as redirect URIs are.
    """
    error = resource_uri_error(uri)
    if error:
        raise InvalidTarget(error)
    if uri != default_audience(issuer) and uri not in (client.allowed_resources or []):
        raise InvalidTarget(_("This client may not request tokens for %(uri)s.") % {"uri": uri})
    return uri


def requested_resource(params: QueryDict, client, *, issuer: str) -> str | None:
    """The one ``resource`` of a request, checked for ``client``; None when there is none."""
    values = params.getlist(RESOURCE_PARAMETER)
    if not values:
        return None
    if len(values) > 1:
        # RFC 8707 §2 allows several; a token here has one audience, so say so plainly.
        raise InvalidTarget(_("Only one resource per request is supported."))
    return check_resource(client, values[0], issuer=issuer)
