"""``manage.py rotatekeys``: make a new signing key, list keys, prune retired ones.

The new key signs from now on. The keys it replaces are retired, not deleted: they stay
published in the JWKS until every token they signed has expired (``keys.published_filter``),
so resource servers can still verify those tokens.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .... import jose
from ....conf import oauthkit_settings
from ...keys import create_signing_key, key_ring, published_filter
from ...models import SigningKey

ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")


class Command(BaseCommand):
    # E002 (no signing key) must not stop the command that fixes it.
    requires_system_checks = []
    help = (
        "Generate a new signing key and retire the current ones of its algorithm; --list "
        "shows the keys, --prune deletes retired keys that are no longer published."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--algorithm",
            choices=ALGORITHMS,
            help=gettext_lazy("Default: the SIGNING_ALGORITHM setting."),
        )
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--list", action="store_true", help=gettext_lazy("Show the keys."))
        action.add_argument(
            "--prune",
            action="store_true",
            help=gettext_lazy("Delete retired keys that are no longer published."),
        )

    def handle(self, *args, **options) -> None:
        if options["list"]:
            self.list_keys()
        elif options["prune"]:
            self.prune()
        else:
            self.rotate(options["algorithm"] or oauthkit_settings.SIGNING_ALGORITHM)

    def rotate(self, algorithm: str) -> None:
        if algorithm not in ALGORITHMS:
            raise CommandError(
                _("Cannot generate a %(algorithm)s key; choose one of %(choices)s.")
                % {"algorithm": algorithm, "choices": ", ".join(ALGORITHMS)}
            )
        with transaction.atomic():
            key = create_signing_key(algorithm)
            # Only keys of the same algorithm: clients of the others still need theirs.
            previous = SigningKey.objects.filter(active=True, algorithm=algorithm).exclude(
                pk=key.pk
            )
            retired = list(previous.values_list("kid", flat=True))
            previous.update(active=False, retired_at=timezone.now())
        # update() sends no signal: drop this process's cached keys by hand. Other
        # processes pick the new key up within KEY_CACHE_TIMEOUT.
        key_ring.clear()
        self.stdout.write(
            _("New signing key: %(kid)s (%(alg)s)") % {"kid": key.kid, "alg": algorithm}
        )
        for kid in retired:
            self.stdout.write(
                _("Retired %(kid)s; it stays in the JWKS until its tokens expire.") % {"kid": kid}
            )

    def list_keys(self) -> None:
        published = set(SigningKey.objects.filter(published_filter()).values_list("pk", flat=True))
        rows = list(SigningKey.objects.order_by("-created"))
        signing = next((row.kid for row in rows if row.active), None)
        for row in rows:
            if row.kid == signing:
                status = _("signing")
            elif row.active:
                status = _("active")
            elif row.pk in published:
                status = _("retired, published")
            else:
                status = _("retired, not published (--prune deletes it)")
            created = row.created.strftime("%Y-%m-%d %H:%M")
            self.stdout.write(f"{row.kid}  {row.algorithm:<6}  {created}  {status}")
        for material in oauthkit_settings.SIGNING_KEYS:
            key = jose.parse_key(material)
            if signing is None:
                status, signing = _("signing"), key["kid"]
            else:
                status = _("published")
            source = _("from SIGNING_KEYS")
            self.stdout.write(f"{key['kid']}  {key['alg']:<6}  {source}  {status}")
        if not rows and not oauthkit_settings.SIGNING_KEYS:
            self.stdout.write(_("No signing keys."))

    def prune(self) -> None:
        stale = SigningKey.objects.filter(active=False).exclude(published_filter())
        kids = list(stale.values_list("kid", flat=True))
        stale.filter(kid__in=kids).delete()
        for kid in kids:
            self.stdout.write(_("Deleted %(kid)s.") % {"kid": kid})
        self.stdout.write(_("%(count)d retired keys deleted.") % {"count": len(kids)})
