"""Signals of the login side. They report what happened; they never change the outcome.

* ``signed_in(sender=Provider class, request, user, account, created)`` after a sign-in
  through a provider (``created``: a new user was made).
* ``account_linked(sender=Provider class, request, user, account)`` when a provider account
  is linked to a user (first sign-in, link by verified email, or "connect").
* ``account_unlinked(sender=Provider class | None, request, user, account)`` after a
  disconnect (``account`` is the deleted instance).
"""

from django.dispatch import Signal

signed_in = Signal()
account_linked = Signal()
account_unlinked = Signal()
