"""Write every revoked, unexpired JWT access token to the shared revocation list.

Run it after the revocation cache (``REVOCATION_CACHE``) was unreachable or flushed, so
that APIs checking it refuse every token the database says is revoked.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from oauthkit.conf import oauthkit_settings
from oauthkit.provider.models import AccessToken
from oauthkit.revocation import publish_revocations


class Command(BaseCommand):
    help = "Write revoked, unexpired JWT access tokens to the REVOCATION_CACHE."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, batch_size: int, **options) -> None:
        if not oauthkit_settings.REVOCATION_CACHE:
            raise CommandError("OAUTHKIT['REVOCATION_CACHE'] is not set.")
        pending = AccessToken.objects.filter(
            revoked_at__isnull=False, expires_at__gt=timezone.now(), token_hash__isnull=True
        ).order_by("pk")
        count, last = 0, 0
        while True:
            batch = list(
                pending.filter(pk__gt=last).values_list("pk", "jti", "expires_at")[:batch_size]
            )
            if not batch:
                break
            publish_revocations((jti, expires_at) for _, jti, expires_at in batch)
            count += len(batch)
            last = batch[-1][0]
        self.stdout.write(f"Published {count} revoked access token(s).")
