"""Models of the demo app: only the benchmark's ceiling row (see ``ceiling.py``)."""

from django.db import models
from django.utils import timezone


class CeilingHit(models.Model):
    """One row per request to the benchmark's ceiling view: the cheapest useful write.

    Its columns are about the size of an access token row's hot part, so that the ceiling
    writes a comparable amount per request.
    """

    token = models.CharField(max_length=64)
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"ceiling hit {self.pk}"
