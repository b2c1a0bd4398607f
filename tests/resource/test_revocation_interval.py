"""The cache check's REVOCATION_CHECK_INTERVAL: a process trusts its own "not revoked"
answer for that long, so a revocation is seen everywhere within the bound, and the
shared list is read once per token and interval instead of on every request."""

from datetime import timedelta

import pytest

from oauthkit import resource, revocation
from tests.helpers import basic_auth, post_form
from tests.resource.helpers import ECHO, bearer, cc_token, configure

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.resource.api")]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(resource, "_clock", fake)
    return fake


@pytest.fixture
def list_reads(monkeypatch):
    """How many times the shared revocation list was read."""
    reads = []
    real = revocation.is_revoked

    def counting(jti):
        reads.append(jti)
        return real(jti)

    monkeypatch.setattr(resource, "is_revoked", counting)
    return reads


def revoke(client, oauth_client, token):
    data = {"token": token, "token_type_hint": "access_token"}
    url = "/o/revoke/"
    assert post_form(client, url, data, **basic_auth(oauth_client)).status_code == 200


def cache_check(settings, interval):
    configure(
        settings,
        {"REVOCATION_CHECK": "cache", "CACHE": "default", "REVOCATION_CHECK_INTERVAL": interval},
        REVOCATION_CACHE="default",
    )


def test_default_interval_is_one_second():
    from oauthkit.conf import oauthkit_settings

    assert oauthkit_settings.RESOURCE_SERVER["REVOCATION_CHECK_INTERVAL"] == timedelta(seconds=1)


def test_revocation_is_seen_once_the_interval_has_passed(
    client, oauth_client, settings, clock, list_reads
):
    cache_check(settings, timedelta(seconds=1))
    token = cc_token(client, oauth_client, "read")
    assert client.get(ECHO, **bearer(token)).status_code == 200
    assert client.get(ECHO, **bearer(token)).status_code == 200
    assert len(list_reads) == 1  # the second request trusted the first answer

    revoke(client, oauth_client, token)
    clock.now += 1.01
    response = client.get(ECHO, **bearer(token))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    # A revocation is never trusted away: every later request reads the list and refuses.
    clock.now += 0.01
    assert client.get(ECHO, **bearer(token)).status_code == 401
    assert len(list_reads) == 3


def test_zero_interval_reads_the_list_on_every_request(
    client, oauth_client, settings, clock, list_reads
):
    cache_check(settings, timedelta(0))
    token = cc_token(client, oauth_client, "read")
    assert client.get(ECHO, **bearer(token)).status_code == 200
    revoke(client, oauth_client, token)
    assert client.get(ECHO, **bearer(token)).status_code == 401
    assert len(list_reads) == 2


def test_each_token_has_its_own_answer(client, oauth_client, settings, clock, list_reads):
    cache_check(settings, timedelta(seconds=1))
    first = cc_token(client, oauth_client, "read")
    second = cc_token(client, oauth_client, "read")
    assert client.get(ECHO, **bearer(first)).status_code == 200
    revoke(client, oauth_client, second)
    # The first token's fresh answer says nothing about the second one.
    assert client.get(ECHO, **bearer(second)).status_code == 401


def test_an_unreadable_list_fails_closed_even_after_a_good_answer(
    client, oauth_client, settings, clock, monkeypatch
):
    cache_check(settings, timedelta(seconds=1))
    token = cc_token(client, oauth_client, "read")
    assert client.get(ECHO, **bearer(token)).status_code == 200

    def down(jti):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(resource, "is_revoked", down)
    clock.now += 2
    response = client.get(ECHO, **bearer(token))
    assert response.status_code == 503
