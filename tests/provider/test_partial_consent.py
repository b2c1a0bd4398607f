"""Partial consent (RFC 6749 §3.3): the user unticks optional scopes and the code, its
tokens and the remembered consent carry only what was granted."""

from __future__ import annotations

import re

import pytest

from oauthkit.provider import signals
from oauthkit.provider.models import AccessToken, Consent
from oauthkit.testing.factories import ClientFactory
from tests.helpers import authorize_params, consent_form, pkce_pair, query_of, redeem

pytestmark = pytest.mark.django_db

AUTHORIZE = "/o/authorize/"


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def start(http, app, scope: str, **extra):
    """GET the authorization request; returns (response, verifier)."""
    verifier, challenge = pkce_pair()
    return http.get(AUTHORIZE, authorize_params(app, challenge, scope=scope, **extra)), verifier


def answer(http, page, ticked: list[str] | None = None, **overrides):
    """POST the consent form as a browser would, with only ``ticked`` boxes still ticked."""
    form = consent_form(page)
    if ticked is not None:
        form["scope_granted"] = ticked
    return http.post(AUTHORIZE, {**form, "decision": "allow", **overrides})


def code_of(response) -> str:
    assert response.status_code == 303, (response.status_code, response.content)
    return query_of(response["Location"])["code"]


def checkboxes(page) -> list[str]:
    return re.findall(
        r'type="checkbox" name="scope_granted" value="([^"]+)"', page.content.decode()
    )


def test_page_shows_optional_scopes_as_ticked_labelled_checkboxes(signed_in, oauth_client):
    oauth_client.required_scopes = ["read"]
    oauth_client.save()
    page, _ = start(signed_in, oauth_client, "openid read write email")
    html = page.content.decode()

    # openid is always required when requested; read is required by the client.
    assert checkboxes(page) == ["write", "email"]
    for index, _name in enumerate(["write", "email"], start=1):
        assert re.search(rf'id="scope-{index}" checked>', html)
        assert f'<label for="scope-{index}">' in html
    assert "<li>Sign you in <span" in html and "<li>Read your data <span" in html
    assert consent_form(page)["scope_offered"] == "write email"


def test_no_checkboxes_when_every_scope_is_required(signed_in, oauth_client):
    oauth_client.required_scopes = ["read"]
    oauth_client.save()
    page, _ = start(signed_in, oauth_client, "openid read")
    assert checkboxes(page) == []
    assert "scope_offered" not in consent_form(page)


def test_unticked_scope_is_left_out_of_the_code_and_tokens(signed_in, oauth_client):
    page, verifier = start(signed_in, oauth_client, "read write email")
    code = code_of(answer(signed_in, page, ticked=["read", "email"]))

    body = redeem(signed_in, oauth_client, code, verifier).json()

    # RFC 6749 §5.1: the scope differs from the request, so it is returned.
    assert body["scope"] == "read email"
    assert AccessToken.objects.get().scope == "read email"


def test_ticking_everything_grants_everything(signed_in, oauth_client):
    page, verifier = start(signed_in, oauth_client, "read write")
    code = code_of(answer(signed_in, page))
    assert redeem(signed_in, oauth_client, code, verifier).json()["scope"] == "read write"


def test_a_forged_extra_scope_never_widens_the_grant(signed_in, oauth_client):
    page, verifier = start(signed_in, oauth_client, "read write")
    code = code_of(answer(signed_in, page, ticked=["read", "email", "profile"]))
    assert redeem(signed_in, oauth_client, code, verifier).json()["scope"] == "read"


def test_a_required_scope_cannot_be_declined(signed_in, oauth_client):
    oauth_client.required_scopes = ["read"]
    oauth_client.save()
    page, verifier = start(signed_in, oauth_client, "openid read write")
    # A forged answer that also "offered" the required scopes and ticked nothing.
    response = answer(signed_in, page, ticked=[], scope_offered="openid read write")
    body = redeem(signed_in, oauth_client, code_of(response), verifier).json()
    assert body["scope"] == "openid read"
    assert body["id_token"]


def test_unticking_every_optional_scope_gives_a_token_with_no_scope(signed_in, oauth_client):
    # RFC 6749 §3.3: the user's instruction; a default scope would grant what they refused.
    page, verifier = start(signed_in, oauth_client, "read write")
    code = code_of(answer(signed_in, page, ticked=[]))
    body = redeem(signed_in, oauth_client, code, verifier).json()
    assert body["scope"] == ""
    assert AccessToken.objects.get().scope == ""


def test_a_form_without_the_offered_list_grants_every_requested_scope(signed_in, oauth_client):
    # A site's own consent template without checkboxes keeps working as before.
    page, verifier = start(signed_in, oauth_client, "read write")
    form = {k: v for k, v in consent_form(page).items() if k != "scope_offered"}
    form.pop("scope_granted")
    response = signed_in.post(AUTHORIZE, {**form, "decision": "allow"})
    assert redeem(signed_in, oauth_client, code_of(response), verifier).json()["scope"] == (
        "read write"
    )


def test_consent_signal_carries_the_granted_scopes(signed_in, oauth_client):
    seen = []
    signals.consent_granted.connect(receiver := lambda **kw: seen.append(kw["scopes"]), weak=False)
    try:
        page, _ = start(signed_in, oauth_client, "read write")
        answer(signed_in, page, ticked=["write"])
    finally:
        signals.consent_granted.disconnect(receiver)
    assert seen == [["write"]]


# --- Remembered consent ----------------------------------------------------------------------


def test_remembered_consent_stores_what_was_granted(signed_in, user, oauth_client):
    page, _ = start(signed_in, oauth_client, "read write")
    answer(signed_in, page, ticked=["read"])
    assert Consent.objects.get(user=user, client=oauth_client).scope == "read"

    # A request within what was granted skips the page ...
    response, _ = start(signed_in, oauth_client, "read")
    assert response.status_code == 302 and "code" in query_of(response["Location"])
    # ... one asking again for the declined scope shows it again.
    response, _ = start(signed_in, oauth_client, "read write")
    assert response.status_code == 200
    assert checkboxes(response) == ["read", "write"]


def test_prompt_consent_can_take_back_a_remembered_scope(signed_in, user, oauth_client):
    page, _ = start(signed_in, oauth_client, "read write")
    answer(signed_in, page)
    assert Consent.objects.get().scope == "read write"
    # Covered by the remembered consent: no page.
    response, _ = start(signed_in, oauth_client, "read write")
    assert response.status_code == 302

    page, verifier = start(signed_in, oauth_client, "read write", prompt="consent")
    assert page.status_code == 200
    code = code_of(answer(signed_in, page, ticked=["read"]))

    assert redeem(signed_in, oauth_client, code, verifier).json()["scope"] == "read"
    assert Consent.objects.get().scope == "read"


def test_consent_adds_to_earlier_grants_of_other_scopes(signed_in, oauth_client):
    page, _ = start(signed_in, oauth_client, "read")
    answer(signed_in, page)
    page, _ = start(signed_in, oauth_client, "email write")
    answer(signed_in, page, ticked=["email"])
    assert Consent.objects.get().scope == "read email"


def test_skip_consent_clients_get_every_requested_scope(signed_in):
    first_party = ClientFactory(skip_consent=True, required_scopes=[])
    response, verifier = start(signed_in, first_party, "read write")
    code = query_of(response["Location"])["code"]
    assert redeem(signed_in, first_party, code, verifier).json()["scope"] == "read write"


def test_deny_grants_nothing(signed_in, oauth_client):
    page, _ = start(signed_in, oauth_client, "read write")
    response = signed_in.post(AUTHORIZE, {**consent_form(page), "decision": "deny"})
    assert query_of(response["Location"])["error"] == "access_denied"
    assert not Consent.objects.exists()
