"""Device authorization grant, token request (RFC 8628 §3.4, §3.5).

The device polls with its ``device_code`` until the user decides on the verification
page. Every poll is recorded (``last_polled_at``); a poll sooner than ``interval``
seconds after the previous one is answered ``slow_down`` and makes the interval 5
seconds longer for good (§3.5). These writes happen in ``on_failure``, because the
token endpoint rolls back the transaction of a request that fails.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import F
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .. import signals
from ..device import DEVICE_CODE_GRANT_TYPE
from ..errors import (
    AccessDenied,
    AuthorizationPending,
    ExpiredToken,
    InvalidGrant,
    InvalidRequest,
    SlowDown,
)
from ..hashing import hash_secret
from ..models import DeviceAuthorization
from ..tokens import TokenResponse
from .base import Grant

Status = DeviceAuthorization.Status

#: RFC 8628 §3.5: "the interval MUST be increased by 5 seconds".
SLOW_DOWN_STEP = 5


class DeviceCodeGrant(Grant):
    grant_type = DEVICE_CODE_GRANT_TYPE
    reuse_signal = signals.device_code_reused
    credential = "device_code"

    #: The pending authorization this request polled, and whether it was too fast.
    polled: DeviceAuthorization | None = None
    too_fast = False

    def handle(self) -> TokenResponse:
        authorization = self.load_authorization()
        self.check_decided(authorization)
        if not authorization.user.is_active:
            raise InvalidGrant("The user of this device code is inactive.")
        audience = self.audience_of(authorization.resource, "device request")
        self.consume(authorization)
        with_refresh = self.client.allows_grant_type("refresh_token")
        return self.issue(
            user=authorization.user,
            scopes=authorization.scopes,
            grant_id=authorization.grant_id,
            auth_time=authorization.auth_time,
            refresh_scopes=authorization.scopes if with_refresh else None,
            audience=audience,
            claims=authorization.claims,
            sid=authorization.sid,
            bound_resource=authorization.resource,
        )

    @sensitive_variables("value")
    def load_authorization(self) -> DeviceAuthorization:
        value = self.params.get("device_code")
        if not value:
            raise InvalidRequest("device_code is required.")
        authorization = (
            DeviceAuthorization.objects.select_related("user")
            .filter(device_code_hash=hash_secret(value))
            .first()
        )
        # RFC 8628 §3.4 / RFC 6749 §5.2: bound to the client it was issued to.
        if authorization is None or authorization.client_id != self.client.pk:
            raise InvalidGrant("The device code is invalid.")
        if authorization.used_at is not None:
            # As for authorization codes (RFC 6749 §4.1.2, RFC 9700 §4.2.4): a second
            # redemption may be a stolen code, so the tokens of the first are revoked.
            self.replayed = authorization
            raise InvalidGrant("The device code has already been used.")
        if authorization.is_expired:
            raise ExpiredToken("The device code has expired; start again.")
        return authorization

    def check_decided(self, authorization: DeviceAuthorization) -> None:
        """RFC 8628 §3.5: access_denied, or, while pending, slow_down or
        authorization_pending."""
        if authorization.status == Status.DENIED:
            raise AccessDenied("The user denied the request.", status=400)
        if authorization.status == Status.APPROVED:
            return
        self.polled = authorization
        now = timezone.now()
        if polled_too_soon(authorization, now):
            self.too_fast = True
            raise SlowDown(f"Poll at most every {authorization.interval + SLOW_DOWN_STEP} seconds.")
        raise AuthorizationPending("The user has not answered yet.")

    def consume(self, authorization: DeviceAuthorization) -> None:
        """Mark the code used with a conditional UPDATE, so two racing polls cannot both win."""
        used = DeviceAuthorization.objects.filter(
            pk=authorization.pk, status=Status.APPROVED, used_at__isnull=True
        ).update(used_at=timezone.now())
        if not used:
            # A racing poll redeemed it first: the same answer as a replay.
            self.replayed = authorization
            raise InvalidGrant("The device code has already been used.")

    def on_failure(self, error: Exception) -> None:
        """Record the poll of a pending authorization (and a longer interval after
        slow_down), which the failed request's transaction could not keep."""
        if self.polled is not None:
            values: dict = {"last_polled_at": timezone.now()}
            if self.too_fast:
                values["interval"] = F("interval") + SLOW_DOWN_STEP
            DeviceAuthorization.objects.filter(pk=self.polled.pk).update(**values)
        super().on_failure(error)


def polled_too_soon(authorization: DeviceAuthorization, now: datetime) -> bool:
    """Whether this poll comes less than ``interval`` seconds after the previous one."""
    last = authorization.last_polled_at
    return last is not None and (now - last).total_seconds() < authorization.interval
