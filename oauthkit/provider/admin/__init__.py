"""Django admin for the provider's records.

No secret is ever displayed: client secrets, codes and tokens are stored only as hashes
and the hashes are not shown either; signing keys show their ``kid``, never the private
key. A client's raw secret appears once, on the page answering the request that made it.
Codes, tokens and consents are written by the endpoints: here they are viewed and revoked.

Importing this package (as ``admin.autodiscover()`` does) registers every model admin.
"""

from .clients import ClientAdmin
from .consents import ConsentAdmin, revoke_user_tokens
from .filters import (
    CODE_STATES,
    DEVICE_STATES,
    REFRESH_TOKEN_STATES,
    TOKEN_STATES,
    GrantTypeFilter,
    StateFilter,
    States,
)
from .records import AuthorizationCodeAdmin, DeviceAuthorizationAdmin, RecordAdmin
from .signing_keys import SigningKeyAdmin
from .tokens import AccessTokenAdmin, RefreshTokenAdmin, TokenAdmin

__all__ = [
    "CODE_STATES",
    "DEVICE_STATES",
    "REFRESH_TOKEN_STATES",
    "TOKEN_STATES",
    "AccessTokenAdmin",
    "AuthorizationCodeAdmin",
    "ClientAdmin",
    "ConsentAdmin",
    "DeviceAuthorizationAdmin",
    "GrantTypeFilter",
    "RecordAdmin",
    "RefreshTokenAdmin",
    "SigningKeyAdmin",
    "StateFilter",
    "States",
    "TokenAdmin",
    "revoke_user_tokens",
]
