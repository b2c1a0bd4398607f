"""Delivery of logout tokens to clients' back-channel logout URIs (Back-Channel Logout 1.0 §2.5).

Each delivery runs in a daemon thread of its own, so the user's logout page never waits
for a client, and a slow client never delays another. A delivery POSTs the token as a
form (§2.5), with short timeouts, and tries again a bounded number of times after a
server error or a network failure; a 4xx answer means the client refused the token, and
is not retried (§2.8). Failures are logged to ``oauthkit.backchannel``, never the token.

The threads never touch the database: everything they need is computed before they start.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import requests

logger = logging.getLogger("oauthkit.backchannel")

#: (connect, read) timeouts in seconds of each attempt.
TIMEOUT = (2.0, 2.0)
#: Pauses before the second and third attempts: three attempts in all.
RETRY_DELAYS: tuple[float, ...] = (0.5, 1.5)

_pending: set[threading.Thread] = set()
_pending_lock = threading.Lock()


@dataclass(frozen=True)
class Delivery:
    """One logout token for one client."""

    client_id: str
    uri: str
    logout_token: str

    def __repr__(self) -> str:
        # Never show the token (in tracebacks or logs).
        return f"Delivery(client_id={self.client_id!r}, uri={self.uri!r})"


def deliver(deliveries: list[Delivery]) -> list[threading.Thread]:
    """Start sending each delivery in a daemon thread; return the started threads."""
    threads = []
    for delivery in deliveries:
        thread = threading.Thread(
            target=_run, args=(delivery,), name="oauthkit-backchannel-logout", daemon=True
        )
        with _pending_lock:
            _pending.add(thread)
        thread.start()
        threads.append(thread)
    return threads


def wait_for_deliveries(timeout: float | None = None) -> bool:
    """Wait until every delivery started so far has finished (for tests and shutdown);
    return whether all finished within ``timeout`` seconds."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with _pending_lock:
        threads = list(_pending)
    for thread in threads:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        thread.join(remaining)
    return not any(thread.is_alive() for thread in threads)


def _run(delivery: Delivery) -> None:
    try:
        send(delivery)
    except Exception:  # a thread must not die with a traceback on stderr
        logger.exception("Back-channel logout to %s failed unexpectedly.", delivery.client_id)
    finally:
        with _pending_lock:
            _pending.discard(threading.current_thread())


def send(delivery: Delivery) -> bool:
    """POST the logout token, retrying server errors; return whether the client took it."""
    attempts = len(RETRY_DELAYS) + 1
    for attempt in range(1, attempts + 1):
        outcome = _attempt(delivery)
        if outcome is None:
            return True
        retry, reason = outcome
        if not retry or attempt == attempts:
            logger.warning(
                "Back-channel logout to client %s at %s failed after %d attempt(s): %s",
                delivery.client_id,
                delivery.uri,
                attempt,
                reason,
            )
            return False
        time.sleep(RETRY_DELAYS[attempt - 1])
    return False


def _attempt(delivery: Delivery) -> tuple[bool, str] | None:
    """None on success, else (whether to retry, why it failed)."""
    try:
        response = requests.post(
            delivery.uri,
            data={"logout_token": delivery.logout_token},
            timeout=TIMEOUT,
            # A redirect would turn the POST into a GET without the token, or send the
            # token somewhere the client did not register.
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return True, type(exc).__name__
    # §2.8: 200 on success (or 204, which some frameworks send for an empty 200).
    if 200 <= response.status_code < 300:
        return None
    return response.status_code >= 500, f"HTTP {response.status_code}"
