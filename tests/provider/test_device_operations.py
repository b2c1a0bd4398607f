"""Operating the device flow: the read-only admin (no code or hash shown) and cleartokens."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client as HttpClient
from django.utils import timezone

from oauthkit.provider.models import DeviceAuthorization
from oauthkit.testing.factories import UserFactory
from tests.provider._device import answer, device_app, poll, start

pytestmark = pytest.mark.django_db

ADMIN = "/admin/oauthkit_provider/deviceauthorization/"


@pytest.fixture
def admin_http(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_admin_lists_and_shows_device_authorizations_without_codes(admin_http, user):
    app = device_app(name="Kitchen Radio")
    body = start(admin_http, app, scope="openid read")
    record = DeviceAuthorization.objects.get()

    listing = admin_http.get(ADMIN)
    detail = admin_http.get(f"{ADMIN}{record.pk}/change/")

    assert listing.status_code == detail.status_code == 200
    for page in (listing.content.decode(), detail.content.decode()):
        assert "Kitchen Radio" in page
        for secret in (
            body["device_code"],
            body["user_code"],
            body["user_code"].replace("-", ""),
            record.device_code_hash,
            record.user_code_hash,
        ):
            assert secret not in page
    assert "openid read" in detail.content.decode()
    # Read-only: nothing can be added, and the change page has no save button.
    assert admin_http.get(f"{ADMIN}add/").status_code == 403
    assert 'name="_save"' not in detail.content.decode()


def test_admin_filters_by_state_and_searches_by_client(admin_http, user):
    device, person = HttpClient(), HttpClient()
    app = device_app(name="Kitchen Radio")
    start(device, app)
    used = start(device, app)
    answer(person, user, used["user_code"])
    assert poll(device, app, used["device_code"]).status_code == 200
    denied = start(device, app)
    answer(person, user, denied["user_code"], decision="deny")
    start(device, device_app(name="Garage Door"))

    def count(**query) -> int:
        response = admin_http.get(ADMIN, query)
        assert response.status_code == 200
        return response.context["cl"].result_count

    assert count() == 4
    assert count(state="pending") == 2
    assert count(state="used") == 1
    assert count(state="denied") == 1
    assert count(status="denied") == 1
    assert count(q="Garage") == 1


def test_cleartokens_deletes_expired_device_authorizations(client):
    app = device_app()
    for _ in range(3):
        start(client, app)
    now = timezone.now()
    first, second, third = DeviceAuthorization.objects.order_by("pk")
    DeviceAuthorization.objects.filter(pk__in=[first.pk, second.pk]).update(
        expires_at=now - timedelta(seconds=1)
    )
    DeviceAuthorization.objects.filter(pk=second.pk).update(used_at=now)

    out = io.StringIO()
    call_command("cleartokens", "--batch-size=1", stdout=out)

    assert list(DeviceAuthorization.objects.values_list("pk", flat=True)) == [third.pk]
    assert "Device authorizations: 2 deleted." in out.getvalue()
