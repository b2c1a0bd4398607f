"""Factories and helpers for testing code that uses oauthkit (importable by users)."""
