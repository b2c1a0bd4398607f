"""The settings object: defaults, overrides, dotted paths, reload on setting_changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings

from oauthkit.conf import DEFAULTS, OAuthkitSettings, oauthkit_settings, settings_reloaded
from oauthkit.provider.adapter import ProviderAdapter
from oauthkit.provider.grants.client_credentials import ClientCredentialsGrant
from oauthkit.provider.grants.refresh_token import RefreshTokenGrant


class CustomAdapter(ProviderAdapter):
    """Named by dotted path in the tests below."""


def test_defaults_apply_when_the_site_sets_nothing(settings):
    settings.OAUTHKIT = {}
    for name, default in DEFAULTS.items():
        if name not in ("ADAPTER", "GRANT_TYPES"):
            assert getattr(oauthkit_settings, name) == default, name
    assert timedelta(hours=1) == oauthkit_settings.ACCESS_TOKEN_LIFETIME
    assert oauthkit_settings.REQUIRE_PKCE is True
    assert oauthkit_settings.ALLOW_PLAIN_PKCE is False
    assert oauthkit_settings.ISSUER is None


@pytest.mark.parametrize("value", [None, {}])
def test_a_missing_or_empty_oauthkit_dict_means_defaults(settings, value):
    settings.OAUTHKIT = value
    assert oauthkit_settings.user_settings == {}
    assert oauthkit_settings.SIGNING_KEYS == []


def test_no_oauthkit_setting_at_all_means_defaults(settings):
    del settings.OAUTHKIT
    assert oauthkit_settings.user_settings == {}
    assert oauthkit_settings.ROTATE_REFRESH_TOKENS is True


def test_user_values_override_defaults_one_by_one(settings):
    settings.OAUTHKIT = {
        "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
        "ISSUER": "https://id.example.com",
    }
    assert timedelta(minutes=5) == oauthkit_settings.ACCESS_TOKEN_LIFETIME
    assert oauthkit_settings.ISSUER == "https://id.example.com"
    # Keys the site did not set keep their defaults.
    assert DEFAULTS["REFRESH_TOKEN_LIFETIME"] == oauthkit_settings.REFRESH_TOKEN_LIFETIME


def test_a_falsy_user_value_is_not_replaced_by_the_default(settings):
    settings.OAUTHKIT = {"REQUIRE_PKCE": False, "DEFAULT_SCOPES": []}
    assert oauthkit_settings.REQUIRE_PKCE is False
    assert oauthkit_settings.DEFAULT_SCOPES == []


def test_adapter_is_imported_from_its_dotted_path(settings):
    settings.OAUTHKIT = {}
    assert oauthkit_settings.ADAPTER is ProviderAdapter
    settings.OAUTHKIT = {"ADAPTER": "tests.test_conf.CustomAdapter"}
    assert oauthkit_settings.ADAPTER is CustomAdapter


def test_a_class_may_be_given_instead_of_a_dotted_path(settings):
    settings.OAUTHKIT = {"ADAPTER": CustomAdapter}
    assert oauthkit_settings.ADAPTER is CustomAdapter


def test_grant_types_are_imported_item_by_item(settings):
    settings.OAUTHKIT = {
        "GRANT_TYPES": [
            "oauthkit.provider.grants.client_credentials.ClientCredentialsGrant",
            RefreshTokenGrant,
        ]
    }
    assert [ClientCredentialsGrant, RefreshTokenGrant] == oauthkit_settings.GRANT_TYPES


def test_a_broken_dotted_path_fails_on_use_not_at_assignment_and_is_not_cached(settings):
    settings.OAUTHKIT = {"ADAPTER": "nope.Missing"}  # no error yet: imports are lazy
    with pytest.raises(ImportError):
        oauthkit_settings.ADAPTER  # noqa: B018
    with pytest.raises(ImportError):
        oauthkit_settings.ADAPTER  # noqa: B018 - still failing, not cached as something else
    settings.OAUTHKIT = {"ADAPTER": "tests.test_conf.CustomAdapter"}
    assert oauthkit_settings.ADAPTER is CustomAdapter


def test_values_are_cached_until_settings_change(settings):
    settings.OAUTHKIT = {"ACCESS_TOKEN_FORMAT": "jwt"}
    assert oauthkit_settings.ACCESS_TOKEN_FORMAT == "jwt"
    # Mutating the dict in place sends no setting_changed: the cached value stays.
    settings.OAUTHKIT["ACCESS_TOKEN_FORMAT"] = "opaque"
    assert oauthkit_settings.ACCESS_TOKEN_FORMAT == "jwt"
    oauthkit_settings.reload()
    assert oauthkit_settings.ACCESS_TOKEN_FORMAT == "opaque"


def test_setting_changed_reloads_and_restores(settings):
    settings.OAUTHKIT = {"CONSENT_LIFETIME": timedelta(days=1)}
    assert timedelta(days=1) == oauthkit_settings.CONSENT_LIFETIME
    with override_settings(OAUTHKIT={"CONSENT_LIFETIME": timedelta(days=2)}):
        assert timedelta(days=2) == oauthkit_settings.CONSENT_LIFETIME
    assert timedelta(days=1) == oauthkit_settings.CONSENT_LIFETIME


def test_reload_tells_caches_built_from_settings(settings):
    received = []

    def receiver(**kwargs):
        received.append(kwargs["sender"])

    settings_reloaded.connect(receiver)
    try:
        settings.DEBUG = not settings.DEBUG  # another setting: nothing to reload
        assert received == []
        settings.OAUTHKIT = {}
        assert received == [OAuthkitSettings]
    finally:
        settings_reloaded.disconnect(receiver)


@pytest.mark.parametrize("name", ["NOPE", "access_token_lifetime", "_cached_value", "__wrapped__"])
def test_an_unknown_setting_is_an_attribute_error(name):
    with pytest.raises(AttributeError, match="Invalid oauthkit setting"):
        getattr(oauthkit_settings, name)
    assert not hasattr(oauthkit_settings, name)


def test_a_separate_instance_uses_its_own_defaults(settings):
    settings.OAUTHKIT = {"ISSUER": "https://site.example"}
    custom = OAuthkitSettings({"ISSUER": None, "EXTRA": 1})
    assert custom.ISSUER == "https://site.example"  # user values still win
    assert custom.EXTRA == 1
    with pytest.raises(AttributeError):
        custom.ACCESS_TOKEN_LIFETIME  # noqa: B018
