"""The example project's API: DRF views protected by oauthkit scopes."""
