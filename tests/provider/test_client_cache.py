"""The per-process client cache: fewer queries, and changes made here seen at once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.helpers import assert_oauth_error, basic_auth, post_form

pytestmark = pytest.mark.django_db

CC = {"grant_type": "client_credentials"}


def data_statements(captured) -> list[str]:
    """The statements of a request, transaction statements aside."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"))
    ]


def test_a_cached_client_costs_no_query(client, oauth_client):
    assert post_form(client, "/o/token/", CC, **basic_auth(oauth_client)).status_code == 200
    # Only the token row is written.
    with CaptureQueriesContext(connection) as captured:
        assert post_form(client, "/o/token/", CC, **basic_auth(oauth_client)).status_code == 200
    data = data_statements(captured)
    assert len(data) == 1 and data[0].startswith("INSERT"), data


def test_a_new_secret_saved_in_this_process_is_seen_at_once(client, oauth_client):
    old = basic_auth(oauth_client)
    assert post_form(client, "/o/token/", CC, **old).status_code == 200
    oauth_client.raw_secret = oauth_client.set_new_secret()
    oauth_client.save()

    assert_oauth_error(post_form(client, "/o/token/", CC, **old), "invalid_client", 401)
    assert post_form(client, "/o/token/", CC, **basic_auth(oauth_client)).status_code == 200


def test_deactivation_in_this_process_is_seen_at_once(client, oauth_client):
    assert post_form(client, "/o/token/", CC, **basic_auth(oauth_client)).status_code == 200
    oauth_client.is_active = False
    oauth_client.save()

    assert_oauth_error(
        post_form(client, "/o/token/", CC, **basic_auth(oauth_client)), "invalid_client", 401
    )


def test_a_zero_timeout_looks_the_client_up_every_time(client, oauth_client, settings):
    from datetime import timedelta

    settings.OAUTHKIT = {**settings.OAUTHKIT, "CLIENT_CACHE_TIMEOUT": timedelta(0)}
    assert post_form(client, "/o/token/", CC, **basic_auth(oauth_client)).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        post_form(client, "/o/token/", CC, **basic_auth(oauth_client))
    assert [s.split()[0] for s in data_statements(captured)] == ["SELECT", "INSERT"]
