"""Pairwise subject identifiers (OpenID Connect Core §8)."""

import pytest
from django.core.exceptions import ValidationError

from oauthkit import jose
from oauthkit.provider.keys import key_ring
from oauthkit.testing.factories import ClientFactory
from tests.helpers import basic_auth, get_code, post_form, redeem

pytestmark = pytest.mark.django_db


def claims_of(token: str) -> dict:
    return jose.verify(token, key_ring.verification_keys(), algs=jose.SUPPORTED_ALGORITHMS)[1]


def sign_in(http, user, app) -> dict:
    http.force_login(user)
    code, verifier = get_code(http, app, scope="openid")
    response = redeem(http, app, code, verifier)
    assert response.status_code == 200, response.content
    return response.json()


def pairwise_client(redirect_uri: str, **extra):
    return ClientFactory(subject_type="pairwise", redirect_uris=[redirect_uri], **extra)


def test_pairwise_subject_is_stable_and_the_same_in_userinfo(client, user):
    app = pairwise_client("https://a.example.com/cb")
    first = sign_in(client, user, app)
    second = sign_in(client, user, app)

    sub = claims_of(first["id_token"])["sub"]
    assert sub != str(user.pk)
    assert claims_of(second["id_token"])["sub"] == sub
    userinfo = client.get(
        "/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {first['access_token']}"
    ).json()
    assert userinfo["sub"] == sub
    refreshed = post_form(
        client,
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        **basic_auth(app),
    ).json()
    assert claims_of(refreshed["id_token"])["sub"] == sub


def test_sectors_get_different_subjects_and_a_shared_sector_the_same(client, user):
    a = pairwise_client("https://a.example.com/cb")
    b = pairwise_client("https://b.example.org/cb")
    shared = pairwise_client(
        "https://c.example.net/cb", sector_identifier_uri="https://a.example.com/sector.json"
    )

    sub_a = claims_of(sign_in(client, user, a)["id_token"])["sub"]
    sub_b = claims_of(sign_in(client, user, b)["id_token"])["sub"]
    sub_shared = claims_of(sign_in(client, user, shared)["id_token"])["sub"]

    assert sub_a != sub_b
    assert sub_shared == sub_a


def test_the_access_token_keeps_the_public_subject(client, user):
    # Its audience is an API, which must find the user (RFC 9068 §2.2).
    tokens = sign_in(client, user, pairwise_client("https://a.example.com/cb"))
    assert claims_of(tokens["access_token"])["sub"] == str(user.pk)


def test_an_id_token_hint_with_the_pairwise_subject_matches(client, user):
    app = pairwise_client("https://a.example.com/cb")
    id_token = sign_in(client, user, app)["id_token"]

    code, _ = get_code(client, app, scope="openid", prompt="none", id_token_hint=id_token)

    assert code


def test_pairwise_with_several_hosts_needs_a_sector_identifier():
    app = ClientFactory.build(
        subject_type="pairwise",
        redirect_uris=["https://a.example.com/cb", "https://b.example.org/cb"],
    )
    with pytest.raises(ValidationError) as excinfo:
        app.full_clean()
    assert "sector_identifier_uri" in excinfo.value.message_dict

    app.sector_identifier_uri = "https://a.example.com/sector.json"
    app.full_clean()


def test_discovery_advertises_both_subject_types(client):
    document = client.get("/.well-known/openid-configuration").json()
    assert document["subject_types_supported"] == ["public", "pairwise"]
