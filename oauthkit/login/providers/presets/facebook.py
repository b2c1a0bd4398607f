"""Log in with Facebook (OAuth 2 and the Graph API)."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode

from ..base import register
from ..oauth2 import OAuth2Provider

if TYPE_CHECKING:
    from ...http import ProviderHTTP


GRAPH = "https://graph.facebook.com/v21.0"


@register
class FacebookProvider(OAuth2Provider):
    """Facebook. The subject is the app-scoped user ``id``. The email is treated as
    unverified: Facebook makes no documented promise that it was confirmed."""

    slug = "facebook"
    name = "Facebook"
    authorization_endpoint = "https://www.facebook.com/v21.0/dialog/oauth"
    token_endpoint = f"{GRAPH}/oauth/access_token"
    userinfo_endpoint = f"{GRAPH}/me"
    default_scopes: ClassVar[list[str]] = ["email", "public_profile"]
    token_endpoint_auth_method = "client_secret_post"
    profile_mapping: ClassVar[dict[str, str]] = {
        "subject": "id",
        "email": "email",
        "name": "name",
        "given_name": "first_name",
        "family_name": "last_name",
        "picture": "picture.data.url",
    }

    def profile_url(self, http: ProviderHTTP, token_response: dict[str, Any]) -> str:
        # appsecret_proof (HMAC-SHA256 of the token keyed with the app secret) makes a
        # leaked token alone useless for calling the Graph API as this app.
        proof = hmac.new(
            self.config.client_secret.encode(),
            token_response["access_token"].encode(),
            hashlib.sha256,
        ).hexdigest()
        query = {"fields": "id,name,email,first_name,last_name,picture", "appsecret_proof": proof}
        return f"{super().profile_url(http, token_response)}?{urlencode(query)}"
