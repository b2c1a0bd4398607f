"""Deactivating a user or a client revokes its tokens, so that APIs checking the
shared revocation list (no SQL) refuse them at once."""

from datetime import timedelta

import pytest

from tests.resource.helpers import ECHO, bearer, cc_token, configure, user_token

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.resource.api")]

#: Read the revocation list on every request, so "at once" is observable in one process.
IMMEDIATE = {"REVOCATION_CHECK_INTERVAL": timedelta(0)}


def test_deactivating_a_user_revokes_their_tokens_for_cache_checking_apis(
    client, user, oauth_client, settings
):
    # With the cache check no SQL sees `is_active`: the revocation must reach the list.
    configure(
        settings,
        {"REVOCATION_CHECK": "cache", "CACHE": "default", **IMMEDIATE},
        REVOCATION_CACHE="default",
    )
    token = user_token(client, user, oauth_client)
    assert client.get(ECHO, **bearer(token)).status_code == 200

    user.is_active = False
    user.save()

    assert client.get(ECHO, **bearer(token)).status_code == 401


def test_deactivating_a_client_revokes_its_tokens_for_cache_checking_apis(
    client, oauth_client, settings
):
    configure(
        settings,
        {"REVOCATION_CHECK": "cache", "CACHE": "default", **IMMEDIATE},
        REVOCATION_CACHE="default",
    )
    token = cc_token(client, oauth_client)
    assert client.get(ECHO, **bearer(token)).status_code == 200

    oauth_client.is_active = False
    oauth_client.save()

    assert client.get(ECHO, **bearer(token)).status_code == 401


def test_publishrevocations_refills_a_flushed_revocation_list(client, oauth_client, settings):
    from io import StringIO

    from django.core.cache import caches
    from django.core.management import call_command

    configure(
        settings,
        {"REVOCATION_CHECK": "cache", "CACHE": "default", **IMMEDIATE},
        REVOCATION_CACHE="default",
    )
    token = cc_token(client, oauth_client)
    oauth_client.is_active = False
    oauth_client.save()  # revokes the token and lists it
    oauth_client.is_active = True
    oauth_client.save()
    caches["default"].clear()  # the cache was flushed: the revoked token passes again
    assert client.get(ECHO, **bearer(token)).status_code == 200

    out = StringIO()
    call_command("publishrevocations", stdout=out)

    assert "Published 1" in out.getvalue()
    assert client.get(ECHO, **bearer(token)).status_code == 401
