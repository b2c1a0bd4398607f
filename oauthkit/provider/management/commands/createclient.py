"""``manage.py createclient``: register an OAuth client from the command line."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ...client_jwks import ALGORITHMS as ASSERTION_ALGORITHMS
from ...forms import client_list_errors
from ...grants.base import client_grant_types
from ...models import Client
from ...scopes import known_scopes

#: Shorter secrets are refused: ours have 256 bits (hashing.py), and SHA-256 storage is
#: only safe for high-entropy values.
MIN_SECRET_LENGTH = 32

DEFAULT_GRANT_TYPES = ["authorization_code", "refresh_token"]


class Command(BaseCommand):
    help = (
        "Register an OAuth client. The secret of a confidential client is printed once; "
        "only its hash is stored."
    )

    def add_arguments(self, parser) -> None:
        Type, Method = Client.ClientType, Client.AuthMethod
        parser.add_argument("--name", required=True, help=_("Name shown on the consent page."))
        parser.add_argument("--type", choices=Type.values, default=Type.CONFIDENTIAL)
        parser.add_argument(
            "--grant-type",
            action="append",
            dest="grant_types",
            choices=client_grant_types(),
            help=_("Repeatable. Default: authorization_code and refresh_token."),
        )
        parser.add_argument(
            "--redirect-uri", action="append", dest="redirect_uris", default=[], metavar="URI"
        )
        scopes = list(known_scopes())
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            choices=scopes,
            default=[],
            help=_("Repeatable: the scopes the client may request (default: all)."),
        )
        parser.add_argument(
            "--default-scope", action="append", dest="default_scopes", choices=scopes, default=[]
        )
        parser.add_argument(
            "--resource",
            action="append",
            dest="allowed_resources",
            default=[],
            metavar="URI",
            help=_(
                "Repeatable: an API this client may request tokens for with the resource "
                "parameter (RFC 8707), an absolute URI."
            ),
        )
        parser.add_argument(
            "--auth-method",
            choices=Method.values,
            help=_(
                "Default: client_secret_basic; none for a public client; private_key_jwt "
                "with --jwks-uri or --jwks-file."
            ),
        )
        keys = parser.add_mutually_exclusive_group()
        keys.add_argument(
            "--jwks-uri",
            metavar="URL",
            help=_("private_key_jwt: where the client publishes its public keys (https)."),
        )
        keys.add_argument(
            "--jwks-file",
            metavar="PATH",
            help=_("private_key_jwt: a JSON file with the client's public JWK Set (or one JWK)."),
        )
        parser.add_argument(
            "--auth-signing-alg",
            choices=ASSERTION_ALGORITHMS,
            help=_("private_key_jwt: the only algorithm its assertions may use (default: any)."),
        )
        parser.add_argument("--skip-consent", action="store_true", help=_("First-party only."))
        parser.add_argument(
            "--can-introspect",
            action="store_true",
            help=_("May introspect any token (for a resource server in another service)."),
        )
        parser.add_argument("--client-id", help=_("Default: a random ID."))
        parser.add_argument(
            "--client-secret",
            help=_("For automation; at least %(min)d characters. Default: a random secret.")
            % {"min": MIN_SECRET_LENGTH},
        )
        parser.add_argument("--json", action="store_true", help=_("Print a JSON object."))

    def handle(self, *args, **options) -> None:
        client, secret = self.build(options)
        self.validate(client, options)
        try:
            with transaction.atomic():
                client.save(force_insert=True)
        except IntegrityError as exc:  # a concurrent insert of the same client_id
            raise CommandError(
                _("The client could not be saved: %(error)s") % {"error": exc}
            ) from exc
        self.report(client, secret, as_json=options["json"])

    def build(self, options: dict) -> tuple[Client, str | None]:
        public = options["type"] == Client.ClientType.PUBLIC
        jwks = read_jwks(options.get("jwks_file"))
        jwks_uri = options.get("jwks_uri") or ""
        if public:
            default_method = Client.AuthMethod.NONE
        elif jwks is not None or jwks_uri:
            default_method = Client.AuthMethod.PRIVATE_KEY_JWT
        else:
            default_method = Client.AuthMethod.CLIENT_SECRET_BASIC
        client = Client(
            name=options["name"],
            client_type=options["type"],
            redirect_uris=list(dict.fromkeys(options["redirect_uris"])),
            grant_types=list(dict.fromkeys(options["grant_types"] or DEFAULT_GRANT_TYPES)),
            scopes=list(dict.fromkeys(options["scopes"])),
            default_scopes=list(dict.fromkeys(options["default_scopes"])),
            allowed_resources=list(dict.fromkeys(options["allowed_resources"])),
            token_endpoint_auth_method=options["auth_method"] or default_method,
            jwks=jwks,
            jwks_uri=jwks_uri,
            token_endpoint_auth_signing_alg=options.get("auth_signing_alg") or "",
            skip_consent=options["skip_consent"],
            can_introspect=options["can_introspect"],
        )
        if options["client_id"]:
            client.client_id = options["client_id"]
        secret = options["client_secret"]
        if public:
            if secret:
                raise CommandError(_("A public client has no secret: drop --client-secret."))
            return client, None
        if client.token_endpoint_auth_method == Client.AuthMethod.PRIVATE_KEY_JWT:
            if secret:
                raise CommandError(
                    _("A private_key_jwt client has no secret: drop --client-secret.")
                )
            return client, None
        if secret is None:
            return client, client.set_new_secret()
        if len(secret) < MIN_SECRET_LENGTH:
            raise CommandError(
                _("--client-secret must be at least %(min)d characters long.")
                % {"min": MIN_SECRET_LENGTH}
            )
        client.set_secret(secret)
        return client, secret

    def validate(self, client: Client, options: dict) -> None:
        if Client.objects.filter(client_id=client.client_id).exists():
            raise CommandError(
                _("A client with ID %(client_id)s already exists.")
                % {"client_id": client.client_id}
            )
        try:
            client.full_clean()
            errors = {}
        except ValidationError as exc:
            errors = exc.message_dict
        for field, messages in client_list_errors(
            grant_types=client.grant_types,
            scopes=client.scopes,
            default_scopes=client.default_scopes,
            redirect_uris=client.redirect_uris,
        ).items():
            errors.setdefault(field, []).extend(messages)
        # argparse checks choices only for options given on a command line, not as
        # call_command() keyword arguments.
        for field, known in (
            ("grant_types", client_grant_types()),
            ("scopes", known_scopes()),
            ("default_scopes", known_scopes()),
        ):
            unknown = [v for v in getattr(client, field) if v not in known]
            if unknown:
                message = _("not enabled here: %(values)s") % {"values": ", ".join(unknown)}
                errors.setdefault(field, []).append(message)
        if errors:
            lines = [f"{field}: {message}" for field, msgs in errors.items() for message in msgs]
            raise CommandError(_("Invalid client:") + "\n  " + "\n  ".join(lines))

    def report(self, client: Client, secret: str | None, *, as_json: bool) -> None:
        if as_json:
            body = {
                "client_id": client.client_id,
                "client_secret": secret,
                "name": client.name,
                "client_type": client.client_type,
                "token_endpoint_auth_method": client.token_endpoint_auth_method,
                "redirect_uris": client.redirect_uris,
                "grant_types": client.grant_types,
                "scopes": client.scopes,
                "default_scopes": client.default_scopes,
                "allowed_resources": client.allowed_resources,
                "jwks_uri": client.jwks_uri or None,
                "jwks": client.jwks,
                "token_endpoint_auth_signing_alg": client.token_endpoint_auth_signing_alg or None,
                "skip_consent": client.skip_consent,
                "can_introspect": client.can_introspect,
            }
            self.stdout.write(json.dumps(body, indent=2))
            return
        self.stdout.write(_("Client ID: %(client_id)s") % {"client_id": client.client_id})
        if client.token_endpoint_auth_method == Client.AuthMethod.PRIVATE_KEY_JWT:
            self.stdout.write(
                _("No secret: the client signs its token requests with its private key.")
            )
        if secret is not None:
            self.stdout.write(_("Client secret: %(secret)s") % {"secret": secret})
            self.stdout.write(
                self.style.WARNING(
                    _("The secret is shown only once: only its hash is stored. Copy it now.")
                )
            )


def read_jwks(path: str | None) -> dict | None:
    """The JWK Set in the file at ``path`` (a single JWK is wrapped in one), or None."""
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as file:
            value = json.load(file)
    except (OSError, ValueError) as exc:
        raise CommandError(
            _("--jwks-file %(path)s cannot be read: %(error)s") % {"path": path, "error": exc}
        ) from exc
    if isinstance(value, dict) and "kty" in value:
        value = {"keys": [value]}
    return value
