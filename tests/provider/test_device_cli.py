"""example_project/device_login.py against a live server, and the demo's device client."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client as HttpClient

import example_project.settings as example_project_settings
from example_project import device_login
from example_project.demo.management.commands import seed_demo
from oauthkit.provider.models import Client, DeviceAuthorization
from tests.provider._device import DEVICE_GRANT, VERIFY_URL, device_app

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = Path(device_login.__file__)
CODE = re.compile(r"enter the code ([A-Z]{4}-[A-Z]{4})")


@pytest.fixture
def issuer(live_server, settings) -> str:
    """The live server is the issuer, so that discovery's URLs point at it."""
    settings.OAUTHKIT = {**settings.OAUTHKIT, "ISSUER": live_server.url}
    return live_server.url


def decide(user, user_code: str, decision: str = "allow") -> None:
    """The user answers on the verification page (in the test's thread)."""
    http = HttpClient()
    http.force_login(user)
    response = http.post(VERIFY_URL, {"user_code": user_code, "decision": decision})
    assert response.status_code == 200, response.content


def test_script_runs_the_whole_flow(issuer, user, settings):
    settings.OAUTHKIT = {**settings.OAUTHKIT, "DEVICE_POLL_INTERVAL": 1}
    app = device_app()
    env = {**os.environ, "NO_PROXY": "*", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, str(SCRIPT), "--client-id", app.client_id, "--issuer", issuer]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        shown = ""
        while not CODE.search(shown):
            line = process.stdout.readline()
            assert line, f"the script ended without a code: {shown}"
            shown += line
        decide(user, CODE.search(shown).group(1).lower())
        rest, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    output = shown + rest
    assert process.returncode == 0, output
    assert f"open {issuer}/o/device/verify/" in output
    assert "Granted scope: openid profile email read" in output
    assert f'"sub": "{user.pk}"' in output
    assert '"email": "alice@example.com"' in output


def test_main_slows_down_as_told_and_prints_userinfo(issuer, user):
    app = device_app()
    out = io.StringIO()
    waits = []

    def fake_sleep(seconds):
        # No real waiting: the server sees polls too fast and answers slow_down.
        waits.append(seconds)
        if len(waits) == 3:
            decide(user, CODE.search(out.getvalue()).group(1))

    status = device_login.main(
        ["--client-id", app.client_id, "--issuer", issuer], sleep=fake_sleep, out=out
    )

    assert status == 0, out.getvalue()
    # RFC 8628 §3.5: pending, then slow_down makes every later wait 5 seconds longer.
    assert waits == [5, 5, 10]
    assert DeviceAuthorization.objects.get().interval == 10
    assert "Also received: refresh_token, id_token" in out.getvalue()
    assert f'"sub": "{user.pk}"' in out.getvalue()


def test_main_reports_a_denial(issuer, user):
    app = device_app()
    out = io.StringIO()

    def fake_sleep(seconds):
        decide(user, CODE.search(out.getvalue()).group(1), decision="deny")

    status = device_login.main(
        ["--client-id", app.client_id, "--issuer", issuer], sleep=fake_sleep, out=out
    )

    assert status == 1
    assert "Access was denied." in out.getvalue()


def test_main_reports_a_client_without_the_grant(issuer, public_client):
    out = io.StringIO()
    status = device_login.main(
        ["--client-id", public_client.client_id, "--issuer", issuer], out=out
    )
    assert status == 1
    assert "unauthorized_client" in out.getvalue()


@pytest.mark.urls("example_project.urls")
def test_seed_demo_makes_the_device_client_and_names_the_script(settings):
    settings.INSTALLED_APPS = [
        *settings.INSTALLED_APPS,
        "example_project.demo",
        "example_project.api",
    ]
    settings.OAUTHKIT = {**settings.OAUTHKIT, "SCOPES": example_project_settings.OAUTHKIT["SCOPES"]}
    out = io.StringIO()
    call_command(seed_demo.Command(), stdout=out)

    device = Client.objects.get(client_id="demo-device")
    assert device.is_public and device.token_endpoint_auth_method == "none"
    assert device.grant_types == [DEVICE_GRANT, "refresh_token"]
    assert device.scopes == ["openid", "profile", "email", "read"]
    assert device.secret_hash == ""
    assert (
        ".venv/bin/python example_project/device_login.py --client-id demo-device "
        "--issuer http://127.0.0.1:8000" in out.getvalue()
    )
