"""The benchmark's ceiling: the fastest view that still writes one row per request.

``benchmarks/run.py`` compares token issuance with this view on the same server, so the
ratio shows what oauthkit costs on top of Django, the WSGI server and one INSERT.

The view is an unauthenticated write, so it is mounted only when the environment sets
``OAUTHKIT_BENCHMARK_CEILING=1`` (the benchmark does; ``make demo`` does not).
"""

from __future__ import annotations

import os
import secrets

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import CeilingHit


@csrf_exempt
@require_POST
def view(request: HttpRequest) -> JsonResponse:
    """One INSERT in autocommit, then a small JSON answer (as the token endpoint sends)."""
    hit = CeilingHit.objects.create(token=secrets.token_hex(32))
    return JsonResponse({"id": hit.pk})


urlpatterns = (
    [path("ceiling/", view, name="bench-ceiling")]
    if os.environ.get("OAUTHKIT_BENCHMARK_CEILING") == "1"
    else []
)
