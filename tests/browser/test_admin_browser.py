"""The admin in Chromium: a superuser registers a confidential client through the form,
sees its secret once, and the secret works at the token endpoint (only its hash is stored)."""

from __future__ import annotations

import requests

from oauthkit.provider.models import Client
from oauthkit.testing.factories import UserFactory


def test_superuser_adds_a_client_and_its_secret_works(page, shot, sign_in, live_server):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    page.goto("/admin/")
    sign_in(page, "root", "password")
    page.goto("/admin/oauthkit_provider/client/add/")

    page.get_by_label("Name:", exact=True).fill("Partner portal")
    page.get_by_label("Client type:", exact=True).select_option("confidential")
    page.get_by_label("Token endpoint authentication method:").select_option("client_secret_basic")
    page.get_by_label("Redirect URIs:", exact=True).fill("https://partner.example.com/cb")
    # authorization_code and refresh_token are ticked for a new client; add the service grant.
    page.locator('input[name="grant_types"][value="client_credentials"]').check()
    page.locator('input[name="scopes"][value="read"]').check()
    page.locator('input[name="default_scopes"][value="read"]').check()
    client_id = page.get_by_label("Client ID:", exact=True).input_value()
    # change_form.html: each option on one line, not wrapped in the admin's 160px labels.
    heights = page.locator("#id_grant_types label, #id_scopes label").evaluate_all(
        "labels => labels.map(label => label.getBoundingClientRect().height)"
    )
    # One line is 20-32 px with the admin's padding (Django 5.2 / 4.2); a wrapped label is 40+.
    assert heights and max(heights) < 38, heights
    shot(page, "add-form")
    page.get_by_role("button", name="Save", exact=True).click()

    secret = page.locator("#client-secret").inner_text()
    assert page.locator("#client-id").inner_text() == client_id
    assert "shown only once" in page.content()
    shot(page, "secret-shown-once")

    client = Client.objects.get(client_id=client_id)
    assert client.name == "Partner portal"
    assert client.grant_types == ["authorization_code", "refresh_token", "client_credentials"]
    assert client.redirect_uris == ["https://partner.example.com/cb"]
    assert client.secret_hash and secret not in client.secret_hash
    assert client.check_secret(secret)

    response = requests.post(
        f"{live_server.url}/o/token/",
        data={"grant_type": "client_credentials", "scope": "read"},
        auth=(client_id, secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["access_token"]
    assert response.json()["scope"] == "read"

    # Back on the change page, the secret is gone for good.
    page.get_by_role("link", name="Continue").click()
    assert secret not in page.content()
    shot(page, "change-form")
