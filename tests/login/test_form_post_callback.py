"""response_mode=form_post answers (Apple): the callback POST continues as a same-site GET,
and personal data posted with it (Apple's ``user``) stays out of that URL, reaching the
provider's ``complete_profile`` from the server side."""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from oauthkit.login.providers.presets.github import GitHubProvider
from tests.login.test_oauth2_generic import (
    github,  # noqa: F401  (the fake GitHub fixture)
    signed_in_user,
)

pytestmark = pytest.mark.django_db

USER_FIELD = json.dumps({"name": {"firstName": "Mona", "lastName": "Lisa"}})


class NamedByCallback(GitHubProvider):
    """A GitHub-shaped provider that, like Apple, names the user in the callback."""

    def complete_profile(self, profile, params):
        name = json.loads(params.get("user") or "{}").get("name") or {}
        return dataclasses.replace(
            profile, given_name=name.get("firstName"), family_name=name.get("lastName")
        )


@pytest.fixture
def named_by_callback(settings, github):  # noqa: F811
    providers = settings.OAUTHKIT["LOGIN"]["PROVIDERS"]
    entry = {**providers["github"], "class": f"{__name__}.NamedByCallback"}
    entry.pop("preset")
    settings.OAUTHKIT = {**settings.OAUTHKIT, "LOGIN": {"PROVIDERS": {"github": entry}}}
    return github


def test_posted_user_field_stays_out_of_the_url_and_reaches_the_profile(client, named_by_callback):
    start = client.post("/accounts/oauth/github/login/", {"next": "/done/"})
    approve = requests.get(start["Location"], allow_redirects=False, timeout=5)
    answer = parse_qs(urlsplit(approve.headers["Location"]).query)

    # The provider's form_post: a cross-site POST with the answer and the user's name.
    posted = {name: values[0] for name, values in answer.items()}
    response = client.post("/accounts/oauth/github/callback/", {**posted, "user": USER_FIELD})
    assert response.status_code == 303
    location = urlsplit(response["Location"])
    assert "user" not in parse_qs(location.query)
    assert "Mona" not in response["Location"]
    assert parse_qs(location.query)["state"] == [posted["state"]]

    done = client.get(location.path + "?" + location.query)
    assert done.status_code == 302 and done["Location"] == "/done/"
    user = signed_in_user(client)
    assert (user.first_name, user.last_name) == ("Mona", "Lisa")


def test_kept_fields_are_used_once(client, named_by_callback):
    start = client.post("/accounts/oauth/github/login/")
    approve = requests.get(start["Location"], allow_redirects=False, timeout=5)
    posted = {k: v[0] for k, v in parse_qs(urlsplit(approve.headers["Location"]).query).items()}
    first = client.post("/accounts/oauth/github/callback/", {**posted, "user": USER_FIELD})
    location = urlsplit(first["Location"])
    client.get(location.path + "?" + location.query)

    # A replay of the same callback finds neither the pending login nor the kept fields.
    again = client.get(location.path + "?" + location.query)
    assert again.status_code == 400
    assert b"Sign-in failed" in again.content and b"Mona" not in again.content
