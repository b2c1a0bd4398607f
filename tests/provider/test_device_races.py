"""Two polls racing for one approved device code: exactly one gets tokens (RFC 8628 §3.5,
ARCHITECTURE §5). Real threads, each with its own connection, on SQLite and PostgreSQL."""

import pytest

from oauthkit.provider.models import AccessToken, DeviceAuthorization
from tests.provider._device import answer, device_app, poll, start
from tests.provider.test_races import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def test_approved_device_code_polled_twice_at_once_gives_tokens_once(client, user):
    app = device_app()
    body = start(client, app)
    answer(client, user, body["user_code"])

    responses = run_together(lambda http: poll(http, app, body["device_code"]))

    statuses = sorted(r.status_code for r in responses)
    assert statuses[0] == 200 and statuses[1] in (400, 503), statuses
    loser = next(r for r in responses if r.status_code != 200)
    if loser.status_code == 503:
        # SQLite before Django 5.1 (no IMMEDIATE transactions) refuses the second writer.
        assert loser.json()["error"] == "temporarily_unavailable"
        assert AccessToken.objects.active().count() == 1
    else:
        assert loser.json()["error"] == "invalid_grant"
        # Like a replay: the second redemption revokes what the first got.
        assert not AccessToken.objects.active().exists()
    assert AccessToken.objects.count() == 1
    assert DeviceAuthorization.objects.get().used_at is not None


def test_two_answers_at_once_decide_once(client, user):
    app = device_app()
    body = start(client, app)

    def decide(http):
        http.force_login(user)
        return http.post("/o/device/verify/", {"user_code": body["user_code"], "decision": "allow"})

    responses = run_together(decide)

    assert sorted(r.status_code for r in responses) == [200, 400]
    assert DeviceAuthorization.objects.get().status == DeviceAuthorization.Status.APPROVED
