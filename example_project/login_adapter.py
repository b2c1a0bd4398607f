"""The example site's login policy: its "Sign in with oauthkit demo" button signs into this
same site through its own provider, so that provider's subject is a local user's id."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from oauthkit.login.adapter import LoginAdapter

#: The slug of the example's own provider (example_project/settings.py).
SELF_PROVIDER = "oauthkit-demo"


class ExampleLoginAdapter(LoginAdapter):
    def find_existing_user(self, request, provider, profile):
        # Only for our own provider: its public subject is the primary key of a user of
        # this very database (oauthkit.provider's default subject). Never do this for
        # another provider.
        if provider.slug == SELF_PROVIDER and profile.subject.isdigit():
            model = get_user_model()
            return model._default_manager.filter(pk=int(profile.subject), is_active=True).first()
        return super().find_existing_user(request, provider, profile)
