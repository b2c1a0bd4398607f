"""Sign in from a terminal with the device authorization grant (RFC 8628).

Run the demo (``make demo``), then::

    .venv/bin/python example_project/device_login.py --client-id demo-device

The script reads the provider's discovery document, asks for a device code, prints the
code and the page where you enter it, polls the token endpoint as RFC 8628 §3.4-3.5
says (every ``interval`` seconds, 5 seconds slower after each ``slow_down``), then prints
the granted scope and what the UserInfo endpoint says about you. Only ``requests`` is
needed; the tokens themselves are never printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import TextIO

import requests

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: RFC 8628 §3.2: the interval when the server names none; §3.5: the slow_down step.
DEFAULT_INTERVAL = 5
SLOW_DOWN_STEP = 5
TIMEOUT = 10  # seconds per HTTP request


class DeviceFlowError(Exception):
    """The provider ended the flow: ``error`` is its RFC code (access_denied, expired_token ...)."""

    def __init__(self, error: str, description: str = ""):
        self.error, self.description = error, description
        super().__init__(f"{error}: {description}" if description else error)


def discover(http: requests.Session, issuer: str) -> dict:
    """The OpenID Provider metadata of ``issuer`` (Discovery 1.0 §4), checked to be its own."""
    issuer = issuer.rstrip("/")
    response = http.get(f"{issuer}/.well-known/openid-configuration", timeout=TIMEOUT)
    response.raise_for_status()
    metadata = response.json()
    # Discovery §4.3: the document must name the issuer it was fetched from.
    if metadata.get("issuer") != issuer:
        raise DeviceFlowError("invalid_issuer", f"metadata names {metadata.get('issuer')!r}")
    if "device_authorization_endpoint" not in metadata:
        raise DeviceFlowError("unsupported", "the provider has no device authorization endpoint")
    return metadata


def start(http: requests.Session, metadata: dict, client_id: str, scope: str) -> dict:
    """RFC 8628 §3.1: ask for a device code and a user code."""
    response = http.post(
        metadata["device_authorization_endpoint"],
        data={"client_id": client_id, "scope": scope},
        timeout=TIMEOUT,
    )
    body = response.json()
    if response.status_code != 200:
        raise DeviceFlowError(body.get("error", "error"), body.get("error_description", ""))
    return body


def poll(
    http: requests.Session,
    metadata: dict,
    client_id: str,
    device: dict,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """RFC 8628 §3.4: poll the token endpoint until the user answers; return the tokens."""
    interval = device.get("interval", DEFAULT_INTERVAL)
    data = {
        "grant_type": DEVICE_GRANT,
        "device_code": device["device_code"],
        "client_id": client_id,
    }
    while True:
        sleep(interval)
        response = http.post(metadata["token_endpoint"], data=data, timeout=TIMEOUT)
        body = response.json()
        if response.status_code == 200:
            return body
        error = body.get("error", "error")
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            # §3.5: this and every later request waits 5 seconds longer.
            interval += SLOW_DOWN_STEP
            continue
        raise DeviceFlowError(error, body.get("error_description", ""))


def userinfo(http: requests.Session, metadata: dict, access_token: str) -> dict:
    """OpenID Connect Core §5.3: the claims about the signed-in user."""
    response = http.get(
        metadata["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    return response.json()


def main(
    argv: list[str] | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    out: TextIO | None = None,
) -> int:
    """Run the flow; 0 once signed in, 1 when the provider ends it."""
    out = out or sys.stdout
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--client-id", required=True, help="a public client with device_code")
    parser.add_argument("--issuer", default="http://127.0.0.1:8000", help="the provider")
    parser.add_argument("--scope", default="openid profile email read")
    args = parser.parse_args(argv)

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    with requests.Session() as http:
        try:
            metadata = discover(http, args.issuer)
            device = start(http, metadata, args.client_id, args.scope)
            say(f"To sign in, open {device['verification_uri']}")
            say(f"and enter the code {device['user_code']}")
            if device.get("verification_uri_complete"):
                say(f"(or open {device['verification_uri_complete']})")
            minutes = device.get("expires_in", 0) // 60
            say(f"The code is valid for {minutes} minutes. Waiting for you to allow access...")
            tokens = poll(http, metadata, args.client_id, device, sleep=sleep)
        except DeviceFlowError as error:
            messages = {
                "access_denied": "Access was denied.",
                "expired_token": "The code expired before it was used; run this again.",
            }
            say(messages.get(error.error, f"The provider answered: {error}"))
            return 1
        except requests.RequestException as error:
            say(f"Cannot talk to {args.issuer}: {error}")
            return 1
        say()
        say(f"Signed in. Granted scope: {tokens.get('scope', '')}")
        extras = [name for name in ("refresh_token", "id_token") if name in tokens]
        if extras:
            say(f"Also received: {', '.join(extras)}")
        if "openid" in tokens.get("scope", "").split():
            say("UserInfo:")
            say(json.dumps(userinfo(http, metadata, tokens["access_token"]), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
