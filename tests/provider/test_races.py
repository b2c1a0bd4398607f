"""Two requests racing for one single-use thing: exactly one may win (ARCHITECTURE §5).

Real threads, each with its own database connection, on SQLite and PostgreSQL.
"""

import threading

import pytest
from django.db import connection
from django.test import Client as HttpClient

from oauthkit.provider.models import AccessToken, RefreshToken
from tests.helpers import basic_auth, get_code, post_form, redeem

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(request_fn, n: int = 2) -> list:
    """Run ``request_fn(HttpClient())`` in ``n`` threads released at the same moment."""
    barrier = threading.Barrier(n)
    responses: list = []
    errors: list = []

    def worker():
        try:
            http = HttpClient()
            barrier.wait(timeout=10)
            responses.append(request_fn(http))
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    return responses


def test_same_code_redeemed_twice_at_once_exactly_one_gets_tokens(client, user, oauth_client):
    client.force_login(user)
    code, verifier = get_code(client, oauth_client)

    responses = run_together(lambda http: redeem(http, oauth_client, code, verifier))

    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1
    loser = next(r for r in responses if r.status_code != 200)
    if loser.status_code == 503:
        # SQLite before Django 5.1 (no IMMEDIATE transactions) refuses the second writer.
        assert loser.json()["error"] == "temporarily_unavailable"
        return
    assert loser.status_code == 400
    assert loser.json()["error"] == "invalid_grant"
    # RFC 6749 §4.1.2: the replay revokes what the first redemption got.
    assert AccessToken.objects.count() == 1
    assert not AccessToken.objects.active().exists()


def test_same_refresh_token_used_twice_at_once_exactly_one_gets_a_new_pair(
    client, user, oauth_client
):
    client.force_login(user)
    code, verifier = get_code(client, oauth_client)
    refresh_token = redeem(client, oauth_client, code, verifier).json()["refresh_token"]

    def refresh(http):
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return post_form(http, "/o/token/", data, **basic_auth(oauth_client))

    responses = run_together(refresh)

    statuses = sorted(r.status_code for r in responses)
    assert statuses[0] == 200 and statuses[1] in (400, 503)
    if statuses[1] == 503:
        return  # SQLite before Django 5.1: the second writer was refused, not queued
    winner = next(r for r in responses if r.status_code == 200)
    # RFC 9700 §4.14.2: the second use is a reuse, so the whole family is revoked,
    # including the pair the winner just received.
    assert not RefreshToken.objects.active().exists()
    assert not AccessToken.objects.active().exists()
    again = post_form(
        client,
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": winner.json()["refresh_token"]},
        **basic_auth(oauth_client),
    )
    assert again.status_code == 400
