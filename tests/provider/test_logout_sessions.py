"""What a provider session's end does to its refresh tokens, and cleaning up sessions."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from oauthkit.provider.models import LogoutSession, RefreshToken
from oauthkit.testing.factories import ClientFactory
from tests.helpers import get_code, redeem

pytestmark = pytest.mark.django_db


def refresh_token_for(http, app, scope: str) -> RefreshToken:
    code, verifier = get_code(http, app, scope=scope)
    assert redeem(http, app, code, verifier).status_code == 200
    return RefreshToken.objects.filter(client=app).latest("pk")


def test_logout_revokes_the_sessions_online_refresh_tokens_only(client, user):
    # Back-Channel Logout §2.7: offline_access tokens outlive the session.
    app = ClientFactory()
    client.force_login(user)
    online = refresh_token_for(client, app, "openid read")
    offline = refresh_token_for(client, app, "openid read offline_access")

    response = client.post("/o/end_session/", {"client_id": app.client_id, "decision": "logout"})

    assert response.status_code in (200, 302, 303)
    online.refresh_from_db()
    offline.refresh_from_db()
    assert online.revoked_at is not None
    assert offline.revoked_at is None


def test_cleartokens_forgets_sessions_older_than_any_session_cookie(client, user, settings):
    app = ClientFactory(backchannel_logout_uri="https://rp.example.com/bc")
    client.force_login(user)
    refresh_token_for(client, app, "openid")
    assert LogoutSession.objects.count() == 1
    LogoutSession.objects.update(
        created=timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)
    )

    call_command("cleartokens", stdout=StringIO())

    assert not LogoutSession.objects.exists()


def test_logout_keeps_plain_oauth_refresh_tokens(client, user):
    # Without openid a refresh token is API access, not part of a sign-in session.
    app = ClientFactory()
    client.force_login(user)
    api_access = refresh_token_for(client, app, "read")

    client.logout()

    api_access.refresh_from_db()
    assert api_access.revoked_at is None
