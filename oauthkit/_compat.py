"""What differs between the Django versions oauthkit supports (4.2 LTS and 5.x)."""

from __future__ import annotations

import django

#: Keyword arguments for ``forms.URLField``: a URL typed without a scheme is https (the
#: default from Django 6.0; ``assume_scheme`` exists from Django 5.0).
URL_FIELD_HTTPS: dict[str, str] = {"assume_scheme": "https"} if django.VERSION >= (5, 0) else {}
