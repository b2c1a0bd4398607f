"""Signals reporting what happened; receivers never change the outcome.

Each sends keyword arguments only; no token or secret value is ever sent.
"""

from django.dispatch import Signal

#: A token was issued: ``client``, ``user`` (or None), ``grant_type``, ``access_token``
#: (the row), ``refresh_token`` (the row or None), ``request``.
token_issued = Signal()
#: Tokens were revoked: ``client``, ``grant_id`` (or None), ``reason``, ``count``.
token_revoked = Signal()
#: A rotated refresh token was presented again; its family was revoked:
#: ``client``, ``user``, ``grant_id``, ``request``.
refresh_token_reused = Signal()
#: An authorization code was redeemed twice; its tokens were revoked:
#: ``client``, ``user``, ``grant_id``, ``request``.
authorization_code_reused = Signal()
#: A device code was redeemed twice; its tokens were revoked:
#: ``client``, ``user``, ``grant_id``, ``request``.
device_code_reused = Signal()
#: A user answered the consent page: ``client``, ``user``, ``scopes``, ``request``.
consent_granted = Signal()
consent_denied = Signal()
