"""Pages of the demo: a callback that shows what the authorization server sent back."""

from django.shortcuts import render


def callback(request):
    """The demo client's redirect URI: shows the code (or error) and how to redeem it."""
    return render(request, "callback.html", {"params": sorted(request.GET.items())})
