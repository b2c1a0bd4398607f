"""Provider tokens at rest: encrypted (JWE, rotating keys), handed out by
``get_access_token``, refreshed once however many requests ask at the same time."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone
from jwcrypto import jwk

from oauthkit.login import crypto
from oauthkit.login.errors import TokenUnavailable
from oauthkit.login.models import LinkedAccount, StoredToken
from oauthkit.login.tokens import get_access_token

from .conftest import set_login, sign_in

OLD_KEY = "old-key-" + "o" * 32
NEW_KEY = jwk.JWK.generate(kty="oct", size=256).export()


def test_encrypt_decrypt_roundtrip_is_a_jwe(settings):
    sealed = crypto.encrypt("secret-token")
    assert sealed.count(".") == 4 and "secret-token" not in sealed
    assert crypto.decrypt(sealed) == "secret-token"
    assert crypto.encrypt("secret-token") != sealed  # fresh IV each time


def test_key_rotation(settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "LOGIN": {"TOKEN_ENCRYPTION_KEYS": [OLD_KEY]}}
    old = crypto.encrypt("a")
    settings.OAUTHKIT = {
        **settings.OAUTHKIT,
        "LOGIN": {"TOKEN_ENCRYPTION_KEYS": [NEW_KEY, OLD_KEY]},
    }
    new = crypto.encrypt("b")
    assert crypto.decrypt(old) == "a" and crypto.decrypt(new) == "b"  # all keys decrypt
    settings.OAUTHKIT = {**settings.OAUTHKIT, "LOGIN": {"TOKEN_ENCRYPTION_KEYS": [NEW_KEY]}}
    assert crypto.decrypt(new) == "b"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(old)  # the old key is gone


def test_tampered_value_does_not_decrypt():
    sealed = crypto.encrypt("a")
    head, key, iv, text, tag = sealed.split(".")
    with pytest.raises(crypto.DecryptionError):
        # A different first character, whatever the tag began with.
        other = "B" if tag.startswith("A") else "A"
        crypto.decrypt(".".join([head, key, iv, text, other + tag[1:]]))


def test_short_key_is_refused(settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "LOGIN": {"TOKEN_ENCRYPTION_KEYS": ["short"]}}
    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt("a")


@pytest.mark.django_db
def test_tokens_are_stored_encrypted(client, idp):
    sign_in(client, idp)
    stored = StoredToken.objects.get()
    for column in ("access_token_encrypted", "refresh_token_encrypted", "id_token_encrypted"):
        assert getattr(stored, column).count(".") == 4
    assert "at-1" not in stored.access_token_encrypted
    assert (stored.access_token, stored.refresh_token) == ("at-1", "rt-1")


@pytest.mark.django_db
def test_store_tokens_off(client, idp, settings):
    set_login(settings, STORE_TOKENS=False)
    sign_in(client, idp)
    assert not StoredToken.objects.exists()
    with pytest.raises(TokenUnavailable):
        get_access_token(LinkedAccount.objects.get().user, "fake")


@pytest.mark.django_db
def test_fresh_token_is_returned_without_http(client, idp, django_assert_max_num_queries):
    sign_in(client, idp)
    user = LinkedAccount.objects.get().user
    before = len(idp.requests)
    with django_assert_max_num_queries(1):
        assert get_access_token(user, "fake") == "at-1"
    assert len(idp.requests) == before


def expire(pk=None):
    StoredToken.objects.update(expires_at=timezone.now() - timedelta(minutes=1))


@pytest.mark.django_db
def test_expired_token_is_refreshed(client, idp):
    sign_in(client, idp)
    user = LinkedAccount.objects.get().user
    expire()
    assert get_access_token(user, "fake") == "at-refreshed-1"
    sent = idp.calls("/token")[-1].body
    assert "grant_type=refresh_token" in sent and "refresh_token=rt-1" in sent
    stored = StoredToken.objects.get()
    assert stored.refresh_token == "rt-refreshed-1"  # rotated refresh token kept
    assert stored.expires_at > timezone.now() + timedelta(minutes=50)
    assert get_access_token(user, "fake") == "at-refreshed-1"
    assert idp.refresh_count == 1


@pytest.mark.django_db
def test_refused_refresh_forgets_the_tokens(client, idp):
    sign_in(client, idp)
    user = LinkedAccount.objects.get().user
    expire()
    idp.token_error = (400, {"error": "invalid_grant"})
    with pytest.raises(TokenUnavailable):
        get_access_token(user, "fake")
    stored = StoredToken.objects.get()
    assert stored.refresh_token_encrypted == "" and stored.refresh_lock_until is None


@pytest.mark.django_db
def test_nothing_stored(db):
    from oauthkit.testing.factories import UserFactory

    with pytest.raises(TokenUnavailable):
        get_access_token(UserFactory(), "fake")


@pytest.mark.django_db(transaction=True)
def test_ten_threads_cause_exactly_one_refresh(client, idp):
    sign_in(client, idp)
    user = LinkedAccount.objects.get().user
    expire()
    barrier = threading.Barrier(10)
    results, errors = [], []

    def ask():
        try:
            barrier.wait()
            results.append(get_access_token(user, "fake"))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert idp.refresh_count == 1
    assert results == ["at-refreshed-1"] * 10
    assert StoredToken.objects.get().refresh_lock_until is None
