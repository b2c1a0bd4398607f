"""oauthkit.login: sign in with OAuth 2 / OpenID Connect providers (the relying party),
and a machine-to-machine client for client-credentials calls."""
