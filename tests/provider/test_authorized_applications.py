"""The "Authorized applications" page at /o/applications/authorized/: a signed-in user sees
every client holding a live consent or token for them, and revokes it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from oauthkit.provider import signals
from oauthkit.provider.models import AccessToken, Consent, LogoutSession, RefreshToken
from oauthkit.revocation import is_revoked
from oauthkit.testing.factories import (
    AccessTokenFactory,
    ClientFactory,
    ConsentFactory,
    RefreshTokenFactory,
    UserFactory,
)
from tests.helpers import basic_auth, get_code, post_form, redeem

pytestmark = pytest.mark.django_db

URL = "/o/applications/authorized/"


def is_active(http, oauth_client, token: str) -> bool:
    response = post_form(http, "/o/introspect/", {"token": token}, **basic_auth(oauth_client))
    assert response.status_code == 200, response.content
    return response.json()["active"]


def listed(response) -> list[str]:
    """The names of the applications on the page, in order."""
    assert response.status_code == 200, response.content
    return re.findall(r'<h2 id="application-\d+-name">([^<]+)</h2>', response.content.decode())


def revoke(http, oauth_client, *, confirm: bool = True):
    data = {"client": oauth_client.client_id, **({"confirm": "1"} if confirm else {})}
    return http.post(URL, data)


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={URL}"
    assert response["X-Frame-Options"] == "DENY"


def test_page_is_protected_like_the_consent_page(client, user):
    client.force_login(user)

    response = client.get(URL)

    # RFC 9700 §4.16, checklist 15/16; no-store: grants are private.
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"
    assert "oauthkit/provider/base.html" in [t.name for t in response.templates]
    assert "No application can use your account." in response.content.decode()


def test_lists_every_client_holding_a_live_consent_or_token(client, user):
    by_consent = ClientFactory(name="Consented")
    by_access = ClientFactory(name="Access only")
    by_refresh = ClientFactory(name="Refresh only")
    ConsentFactory(user=user, client=by_consent, scope="read")
    AccessTokenFactory(user=user, client=by_access)
    RefreshTokenFactory(user=user, client=by_refresh)
    past = timezone.now() - timedelta(seconds=1)
    # Nothing live: not listed.
    ConsentFactory(user=user, client=ClientFactory(name="Revoked consent"), revoked_at=past)
    ConsentFactory(user=user, client=ClientFactory(name="Expired consent"), expires_at=past)
    AccessTokenFactory(user=user, client=ClientFactory(name="Revoked token"), revoked_at=past)
    AccessTokenFactory(user=user, client=ClientFactory(name="Expired token"), expires_at=past)
    RefreshTokenFactory(user=user, client=ClientFactory(name="Rotated"), rotated_at=past)
    AccessTokenFactory(user=UserFactory(), client=ClientFactory(name="Someone else's"))
    AccessTokenFactory(user=None, client=ClientFactory(name="Client credentials"))
    client.force_login(user)

    assert listed(client.get(URL)) == ["Access only", "Consented", "Refresh only"]


def test_shows_the_union_of_scopes_with_descriptions_and_dates(client, user, oauth_client):
    consent = ConsentFactory(user=user, client=oauth_client, scope="openid read")
    first = AccessTokenFactory(user=user, client=oauth_client, scope="read")
    last = RefreshTokenFactory(user=user, client=oauth_client, scope="read write")
    Consent.objects.filter(pk=consent.pk).update(created=timezone.now() - timedelta(days=3))
    AccessToken.objects.filter(pk=first.pk).update(created=timezone.now() - timedelta(days=2))
    client.force_login(user)

    response = client.get(URL)

    [application] = response.context["applications"]
    assert application.scopes == [
        ("openid", "Sign you in"),
        ("read", "Read your data"),
        ("write", "Change your data"),
    ]
    assert application.first_authorized < first.created
    assert application.last_used == last.created
    page = response.content.decode()
    assert "Change your data" in page and "(write)" in page
    assert "Last used" in page and "First authorized" in page


def test_a_consent_without_tokens_was_never_used(client, user, oauth_client):
    ConsentFactory(user=user, client=oauth_client)
    client.force_login(user)

    response = client.get(URL)

    assert response.context["applications"][0].last_used is None
    assert "Not since you allowed it" in response.content.decode()


def test_only_same_site_logos_are_loaded(client, user):
    ConsentFactory(user=user, client=ClientFactory(logo_uri="https://tracker.example/logo.png"))
    ConsentFactory(user=user, client=ClientFactory(logo_uri="https://testserver/static/a.png"))
    client.force_login(user)

    page = client.get(URL).content.decode()

    # Checklist 16: no third-party resources on the provider's pages.
    assert "tracker.example" not in page
    assert 'src="https://testserver/static/a.png"' in page


def test_listing_costs_a_fixed_number_of_queries(client, user, django_assert_max_num_queries):
    for _ in range(6):
        oauth_client = ClientFactory()
        ConsentFactory(user=user, client=oauth_client)
        AccessTokenFactory.create_batch(3, user=user, client=oauth_client)
        RefreshTokenFactory.create_batch(2, user=user, client=oauth_client, scope="read write")
    for _ in range(3):  # tokens without a consent: the client is loaded in one more query
        AccessTokenFactory(user=user)
    client.force_login(user)

    # Session, user, consents, access tokens, refresh tokens, clients without a consent.
    with django_assert_max_num_queries(6):
        response = client.get(URL)

    assert len(listed(response)) == 9


def test_revoke_asks_for_confirmation_first(client, user, oauth_client):
    ConsentFactory(user=user, client=oauth_client)
    token = AccessTokenFactory(user=user, client=oauth_client)
    client.force_login(user)

    response = revoke(client, oauth_client, confirm=False)

    assert response.status_code == 200
    assert "oauthkit/provider/applications/authorized_revoke.html" in [
        t.name for t in response.templates
    ]
    assert 'name="confirm"' in response.content.decode()
    assert response["X-Frame-Options"] == "DENY"
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoking_ends_the_consent_and_every_token_of_the_client(client, user, oauth_client):
    client.force_login(user)
    code, verifier = get_code(client, oauth_client, scope="read")
    pair = redeem(client, oauth_client, code, verifier).json()
    assert is_active(client, oauth_client, pair["access_token"])

    response = revoke(client, oauth_client)

    # Post/Redirect/Get: a reload does not post again (RFC 9110 §15.4.4).
    assert response.status_code == 303
    assert response["Location"] == URL
    assert not is_active(client, oauth_client, pair["access_token"])
    assert not is_active(client, oauth_client, pair["refresh_token"])
    refreshed = post_form(
        client,
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
        **basic_auth(oauth_client),
    )
    assert refreshed.status_code == 400
    assert Consent.objects.get(user=user, client=oauth_client).revoked_at is not None
    page = client.get(URL)
    assert listed(page) == []
    assert "Example App no longer has access to your account." in page.content.decode()
    # The consent is gone: the next authorization request shows the consent page again.
    again = client.get(
        "/o/authorize/",
        {
            "response_type": "code",
            "client_id": oauth_client.client_id,
            "redirect_uri": oauth_client.redirect_uris[0],
            "scope": "read",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        },
    )
    assert again.status_code == 200
    assert "oauthkit/provider/authorize.html" in [t.name for t in again.templates]


def test_an_unused_code_cannot_be_redeemed_after_revoking(client, user, oauth_client):
    client.force_login(user)
    code, verifier = get_code(client, oauth_client)

    revoke(client, oauth_client)

    response = redeem(client, oauth_client, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_revoking_leaves_other_clients_and_other_users_alone(client, user, oauth_client):
    other_client_token = AccessTokenFactory(user=user)
    other_user_token = AccessTokenFactory(user=UserFactory(), client=oauth_client)
    other_consent = ConsentFactory(user=UserFactory(), client=oauth_client)
    AccessTokenFactory(user=user, client=oauth_client)
    client.force_login(user)

    revoke(client, oauth_client)

    for record in (other_client_token, other_user_token, other_consent):
        record.refresh_from_db()
        assert record.revoked_at is None


def test_revoking_sends_token_revoked_and_fills_the_revocation_list(
    client, user, oauth_client, settings
):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "REVOCATION_CACHE": "default"}
    tokens = AccessTokenFactory.create_batch(2, user=user, client=oauth_client)
    RefreshTokenFactory(user=user, client=oauth_client)
    received = []
    signals.token_revoked.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t")
    client.force_login(user)
    try:
        revoke(client, oauth_client)
    finally:
        signals.token_revoked.disconnect(dispatch_uid="t")

    # APIs checking the shared list (REVOCATION_CHECK "cache") refuse the tokens at once.
    assert all(is_revoked(t.jti) for t in tokens)
    assert [(r["client"], r["reason"], r["count"]) for r in received] == [
        (oauth_client, "user_revoked", 3)
    ]
    assert not RefreshToken.objects.filter(revoked_at__isnull=True).exists()


def test_revoking_keeps_back_channel_logout_sessions(client, user, oauth_client):
    # As with every other revocation: the client still gets a logout token when the
    # provider session ends (Back-Channel Logout §2.5).
    ConsentFactory(user=user, client=oauth_client)
    LogoutSession.objects.create(sid="s1", user=user, client=oauth_client)
    client.force_login(user)

    revoke(client, oauth_client)

    assert LogoutSession.objects.filter(client=oauth_client).exists()


def test_revoking_an_unknown_client_is_404(client, user):
    client.force_login(user)

    response = client.post(URL, {"client": "ok_nope", "confirm": "1"})

    assert response.status_code == 404


def test_revoking_needs_the_csrf_token(user, oauth_client):
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(user)
    token = AccessTokenFactory(user=user, client=oauth_client)

    response = revoke(http, oauth_client)

    assert response.status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoke_form_carries_the_csrf_token(client, user, oauth_client):
    ConsentFactory(user=user, client=oauth_client)
    client.force_login(user)

    page = client.get(URL).content.decode()

    assert 'name="csrfmiddlewaretoken"' in page
    assert f'name="client" value="{oauth_client.client_id}"' in page


def test_revoking_costs_a_fixed_number_of_queries(
    client, user, oauth_client, django_assert_max_num_queries
):
    ConsentFactory(user=user, client=oauth_client)
    AccessTokenFactory.create_batch(10, user=user, client=oauth_client)
    RefreshTokenFactory.create_batch(5, user=user, client=oauth_client)
    client.force_login(user)

    # Session, user, client, a savepoint and its release, one UPDATE per kind of record.
    with django_assert_max_num_queries(10) as queries:
        revoke(client, oauth_client)

    # Tokens are revoked by UPDATE, never loaded one by one.
    assert not any('FROM "oauthkit_provider_accesstoken"' in q["sql"] for q in queries)
    assert AccessToken.objects.filter(revoked_at__isnull=False).count() == 10
