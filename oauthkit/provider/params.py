"""Checks on raw request parameters shared by every endpoint."""

from __future__ import annotations

from django.http import QueryDict

from .errors import InvalidRequest


def check_characters(params: QueryDict) -> None:
    """Refuse NUL characters, which no OAuth value contains and databases reject."""
    values = (name + value for name, values in params.lists() for value in values)
    if any("\x00" in text for text in values):
        raise InvalidRequest("A parameter contains a NUL character.")
