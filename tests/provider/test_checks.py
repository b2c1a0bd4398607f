"""System checks oauthkit.E00x / W00x: unsafe or broken configuration is reported."""

from __future__ import annotations

import pytest
from django.core.checks import Error, Warning, run_checks
from django.utils import timezone

from oauthkit import jose
from oauthkit.provider.checks import check_issuer, check_signing_keys
from oauthkit.provider.keys import create_signing_key, key_ring

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_key_ring():
    key_ring.clear()
    yield
    key_ring.clear()


@pytest.fixture
def configure(settings):
    """Replace OAUTHKIT with the test settings' key and issuer plus ``overrides``."""

    def apply(**overrides):
        settings.OAUTHKIT = {
            "ISSUER": "https://id.example.com",
            "SIGNING_KEYS": settings.OAUTHKIT["SIGNING_KEYS"],
            **overrides,
        }

    return apply


def oauthkit_messages() -> dict[str, object]:
    """Every oauthkit message of a full ``manage.py check`` run, by id."""
    messages = [m for m in run_checks() if m.id and m.id.startswith("oauthkit.")]
    ids = [m.id for m in messages]
    assert len(ids) == len(set(ids)) or all(i == "oauthkit.E004" for i in ids), ids
    return {m.id: m for m in messages}


def test_the_test_configuration_is_clean(configure):
    configure()
    assert oauthkit_messages() == {}


# --- E001 issuer -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "issuer",
    [
        None,
        "",
        "http://id.example.com",
        "id.example.com",
        "https://",
        "https:///path",
        "https://id.example.com/?tenant=1",
        "https://id.example.com#top",
    ],
)
def test_an_insecure_or_malformed_issuer_is_an_error_without_debug(configure, settings, issuer):
    # RFC 8414 §2: an https URL with a host and no query or fragment.
    settings.DEBUG = False
    configure(ISSUER=issuer)
    message = oauthkit_messages()["oauthkit.E001"]
    assert isinstance(message, Error)
    assert "RFC 8414" in message.hint


@pytest.mark.parametrize(
    "issuer", ["https://id.example.com", "https://id.example.com/tenant", "https://h:8443"]
)
def test_an_https_issuer_passes(configure, settings, issuer):
    settings.DEBUG = False
    configure(ISSUER=issuer)
    assert check_issuer() == []
    assert "oauthkit.E001" not in oauthkit_messages()


def test_the_issuer_is_not_checked_under_debug(configure, settings):
    settings.DEBUG = True
    configure(ISSUER="http://localhost:8000")
    assert check_issuer() == []


# --- E002 / W001 / E004 signing keys ------------------------------------------------------


def test_no_key_without_debug_is_an_error(configure, settings):
    settings.DEBUG = False
    configure(SIGNING_KEYS=[])
    messages = oauthkit_messages()
    assert isinstance(messages["oauthkit.E002"], Error)
    assert "oauthkit.W001" not in messages


def test_no_settings_key_is_fine_when_the_database_has_an_active_key(configure, settings):
    settings.DEBUG = False
    configure(SIGNING_KEYS=[])
    create_signing_key("ES256")
    assert check_signing_keys() == []


def test_a_retired_database_key_alone_does_not_count(configure, settings):
    settings.DEBUG = False
    configure(SIGNING_KEYS=[])
    row = create_signing_key("ES256")
    row.active = False
    row.retired_at = timezone.now()
    row.save()
    assert [m.id for m in check_signing_keys()] == ["oauthkit.E002"]


def test_no_key_under_debug_is_a_warning(configure, settings):
    settings.DEBUG = True
    configure(SIGNING_KEYS=[])
    messages = oauthkit_messages()
    assert isinstance(messages["oauthkit.W001"], Warning)
    assert "oauthkit.E002" not in messages


def test_no_oauthkit_settings_at_all_under_debug_is_only_a_warning(settings):
    settings.DEBUG = True
    del settings.OAUTHKIT
    assert set(oauthkit_messages()) == {"oauthkit.W001"}


@pytest.mark.parametrize("bad", ["not a key", "{}", '{"kty": "oct", "k": "c2VjcmV0"}', None])
def test_an_unreadable_settings_key_is_an_error(configure, settings, bad):
    good = settings.OAUTHKIT["SIGNING_KEYS"][0]
    configure(SIGNING_KEYS=[good, bad])
    errors = [m for m in check_signing_keys() if m.id == "oauthkit.E004"]
    assert len(errors) == 1
    assert errors[0].msg.startswith("SIGNING_KEYS[1]")


def test_private_keys_as_pem_or_jwk_pass(configure):
    key = jose.generate_key("ES256")
    configure(SIGNING_KEYS=[key.export_private(), key.export_to_pem(True, None).decode()])
    assert check_signing_keys() == []


@pytest.mark.parametrize("form", ["jwk", "pem"])
def test_public_keys_alone_count_as_no_signing_key(configure, settings, form):
    # A public key is only published; with no private key nothing can sign.
    settings.DEBUG = False
    key = jose.generate_key("ES256")
    material = key.export_public() if form == "jwk" else key.export_to_pem().decode()
    configure(SIGNING_KEYS=[material])
    assert [m.id for m in check_signing_keys()] == ["oauthkit.E002"]


def test_a_public_key_beside_a_private_key_is_fine(configure, settings):
    public = jose.generate_key("ES256").export_public()
    configure(SIGNING_KEYS=[public, *settings.OAUTHKIT["SIGNING_KEYS"]])
    assert check_signing_keys() == []


# --- E003 dotted paths --------------------------------------------------------------------


def test_an_adapter_that_does_not_import_is_an_error(configure):
    configure(ADAPTER="nope.Missing")
    message = oauthkit_messages()["oauthkit.E003"]
    assert "ADAPTER" in message.msg
    assert "ProviderAdapter" in message.hint  # the default, as a hint


def test_a_grant_type_that_does_not_import_is_an_error(configure):
    configure(GRANT_TYPES=["oauthkit.provider.grants.nope.Grant"])
    assert "GRANT_TYPES" in oauthkit_messages()["oauthkit.E003"].msg


# --- W002-W004 policy ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "check_id"),
    [
        ({"ALLOW_PLAIN_PKCE": True}, "oauthkit.W002"),  # RFC 7636 §4.2
        ({"REQUIRE_PKCE": False}, "oauthkit.W003"),  # RFC 9700 §2.1.1
        ({"ROTATE_REFRESH_TOKENS": False}, "oauthkit.W004"),  # RFC 9700 §4.14.2
    ],
)
def test_weakened_policies_are_warnings(configure, override, check_id):
    configure(**override)
    messages = oauthkit_messages()
    assert set(messages) == {check_id}
    assert isinstance(messages[check_id], Warning)
    assert messages[check_id].hint


class _MissingTable:
    """A manager whose queries fail as they do before ``migrate``."""

    def filter(self, *args, **kwargs):
        from django.db import ProgrammingError

        raise ProgrammingError("relation oauthkit_provider_signingkey does not exist")


def test_no_key_before_migrate_does_not_block_migrate(configure, settings, monkeypatch):
    from oauthkit.provider.models import SigningKey

    settings.DEBUG = False
    configure(SIGNING_KEYS=[])
    monkeypatch.setattr(SigningKey, "objects", _MissingTable())
    assert "oauthkit.E002" not in oauthkit_messages()


def test_rotatekeys_runs_although_e002_is_raised(configure, settings, capsys):
    from oauthkit.provider.management.commands.rotatekeys import Command
    from oauthkit.provider.models import SigningKey

    settings.DEBUG = False
    configure(SIGNING_KEYS=[])
    assert "oauthkit.E002" in oauthkit_messages()
    # As `manage.py rotatekeys` runs it, without skipping checks: E002 would stop it.
    options = Command().create_parser("manage.py", "rotatekeys").parse_args([])
    Command().execute(**{**vars(options), "skip_checks": False})
    assert SigningKey.objects.filter(active=True).count() == 1
    assert "oauthkit.E002" not in oauthkit_messages()


def test_a_single_key_string_is_read_as_one_key(configure, settings):
    configure(SIGNING_KEYS=settings.OAUTHKIT["SIGNING_KEYS"][0])
    assert "oauthkit.E004" not in oauthkit_messages()
    assert key_ring.signing_key() is not None


def test_no_rs256_key_is_a_warning(configure):
    configure(SIGNING_KEYS=[jose.generate_key("ES256").export_private()])
    assert "oauthkit.W005" in oauthkit_messages()


def test_an_rs256_key_beside_others_is_fine(configure, settings):
    configure(
        SIGNING_KEYS=[
            jose.generate_key("ES256").export_private(),
            *settings.OAUTHKIT["SIGNING_KEYS"],
        ]
    )
    assert "oauthkit.W005" not in oauthkit_messages()
