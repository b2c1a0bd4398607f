"""Every page a person sees, requested through the test client and audited: the security
headers of RFC 9700 §4.16 (checklist 15, 16), no caching, CSRF tokens in forms, a
language, no third-party resources, a label for every control, the shared landmarks."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from oauthkit.testing.factories import ClientFactory
from tests.helpers import authorize_params, pkce_pair
from tests.page_audit import audit, audit_base_page

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def test_consent_page(signed_in, oauth_client):
    _verifier, challenge = pkce_pair()
    response = signed_in.get("/o/authorize/", authorize_params(oauth_client, challenge))
    assert response.status_code == 200
    page = audit_base_page(response)
    assert [f.method for f in page.forms] == ["post"]


def test_consent_page_with_the_clients_own_logo(signed_in):
    # A logo on the issuer's host is the one outside URL allowed; it is still same-site.
    client = ClientFactory(logo_uri="https://testserver/static/logo.png")
    _verifier, challenge = pkce_pair()
    response = signed_in.get("/o/authorize/", authorize_params(client, challenge))
    assert response.status_code == 200
    page = audit_base_page(response)
    assert "https://testserver/static/logo.png" in page.urls


def test_consent_page_drops_a_third_party_logo(signed_in):
    client = ClientFactory(logo_uri="https://tracker.example.net/logo.png")
    _verifier, challenge = pkce_pair()
    response = signed_in.get("/o/authorize/", authorize_params(client, challenge))
    assert response.status_code == 200
    page = audit_base_page(response)
    assert not any("tracker.example.net" in url for url in page.urls)


def test_error_page_for_an_unknown_client(client):
    response = client.get(
        "/o/authorize/", {"response_type": "code", "client_id": "nobody", "state": "s"}
    )
    assert response.status_code == 400
    audit_base_page(response)
    assert b'role="alert"' in response.content


def test_error_page_for_a_consent_answer_without_decision(signed_in, oauth_client):
    response = signed_in.post("/o/authorize/", authorize_params(oauth_client, None))
    assert response.status_code == 400
    audit_base_page(response)


def test_logout_confirmation_page(signed_in):
    response = signed_in.get("/o/end_session/")
    assert response.status_code == 200
    page = audit_base_page(response)
    assert [f.method for f in page.forms] == ["post"]


def test_logged_out_page(client):
    response = client.get("/o/end_session/")
    assert response.status_code == 200
    audit_base_page(response)


def test_still_signed_in_page_after_cancel(signed_in):
    response = signed_in.post("/o/end_session/", {"decision": "cancel"})
    assert response.status_code == 200
    audit_base_page(response)
    assert b"still signed in" in response.content


def test_error_page_of_the_end_session_endpoint(client):
    response = client.get("/o/end_session/", {"client_id": "nobody"})
    assert response.status_code == 400
    audit_base_page(response)


def test_form_post_page(signed_in, oauth_client):
    # OAuth 2.0 Form Post Response Mode: the page posts the code to the client by itself;
    # its form goes to the client (no CSRF token of ours), its script runs by nonce only.
    params = authorize_params(oauth_client, pkce_pair()[1], response_mode="form_post")
    response = signed_in.post("/o/authorize/", {**params, "decision": "allow"})
    assert response.status_code == 200
    page = audit(response)
    assert [urlsplit(f.action).netloc for f in page.forms] == ["client.example.com"]
    assert "default-src 'none'" in response["Content-Security-Policy"]


def test_the_audit_catches_what_it_looks_for():
    """The audit itself fails on a page without labels, CSRF tokens or with outside URLs."""
    from django.http import HttpResponse

    from oauthkit.provider.endpoints.authorize import protect_page

    def page(body: str, lang: str = ' lang="en"') -> HttpResponse:
        return protect_page(HttpResponse(f"<!DOCTYPE html><html{lang}><body>{body}"))

    audit(page('<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="x">'))
    with pytest.raises(AssertionError, match="label"):
        audit(page('<form method="get"><input name="q"></form>'))
    audit(page('<form method="get"><label>Find <input name="q"></label></form>'))
    audit(page('<form method="get"><label for="q">Find</label><input id="q" name="q"></form>'))
    with pytest.raises(AssertionError, match="CSRF"):
        audit(page('<form method="post"><button>Go</button></form>'))
    with pytest.raises(AssertionError, match="third-party"):
        audit(page('<img src="https://cdn.example.com/x.png" alt="">'))
    with pytest.raises(AssertionError, match="third-party"):
        audit(page('<link rel="stylesheet" href="//cdn.example.com/x.css">'))
    with pytest.raises(AssertionError):
        audit(HttpResponse('<html lang="en"></html>'))  # no headers
    with pytest.raises(AssertionError, match="lang"):
        audit(page("", lang=""))


def test_device_verification_page(signed_in):
    response = signed_in.get("/o/device/verify/")
    assert response.status_code == 200
    page = audit_base_page(response)
    assert [f.method for f in page.forms] == ["post"]


def test_device_verification_page_with_a_wrong_code(signed_in):
    response = signed_in.post("/o/device/verify/", {"user_code": "BCDF-GHJK"})
    assert response.status_code in (200, 400)
    audit_base_page(response)


def test_authorized_applications_page(signed_in, oauth_client, user):
    from oauthkit.testing.factories import ConsentFactory

    ConsentFactory(user=user, client=oauth_client, scope="read")
    response = signed_in.get("/o/applications/authorized/")
    assert response.status_code == 200
    page = audit_base_page(response)
    assert any(f.method == "post" for f in page.forms)


def test_developer_applications_page(signed_in, user):
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="register_client"))
    ClientFactory(owner=user, name="Mine")
    response = signed_in.get("/o/applications/developer/")
    assert response.status_code == 200
    audit_base_page(response)


def test_developer_applications_refusal_page(signed_in):
    response = signed_in.get("/o/applications/developer/")
    audit_base_page(response)


def test_device_confirmation_and_done_pages(signed_in, oauth_client):
    from oauthkit.provider.device import create_device_authorization

    issued = create_device_authorization(oauth_client, ["read"])
    response = signed_in.get("/o/device/verify/", {"user_code": issued.user_code})
    assert response.status_code == 200
    page = audit_base_page(response)
    assert [f.method for f in page.forms] == ["post"]
    response = signed_in.post(
        "/o/device/verify/", {"user_code": issued.user_code, "decision": "allow"}
    )
    assert response.status_code == 200
    audit_base_page(response)


def test_developer_application_form_and_detail_pages(signed_in, user):
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="register_client"))
    response = signed_in.get("/o/applications/developer/new/")
    assert response.status_code == 200
    page = audit_base_page(response)
    assert len(page.controls) >= 3  # name, type, redirect URIs... each labelled
    client = ClientFactory(owner=user, name="Mine")
    response = signed_in.get(f"/o/applications/developer/{client.pk}/")
    assert response.status_code == 200
    audit_base_page(response)
    response = signed_in.get(f"/o/applications/developer/{client.pk}/delete/")
    assert response.status_code == 200
    audit_base_page(response)


def test_pages_in_a_right_to_left_language_say_so(signed_in, oauth_client):
    # base.html sets lang and dir; the style sheet uses logical properties, so it mirrors.
    params = authorize_params(oauth_client, pkce_pair()[1], ui_locales="he")
    response = signed_in.get("/o/authorize/", params)
    assert response["Content-Language"] == "he"
    assert b'<html lang="he" dir="rtl">' in response.content
    response = signed_in.get("/o/authorize/", authorize_params(oauth_client, pkce_pair()[1]))
    assert b'<html lang="en-us" dir="ltr">' in response.content
