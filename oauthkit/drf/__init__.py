"""Django REST framework integration: ``OAuth2Authentication`` and scope permissions."""
