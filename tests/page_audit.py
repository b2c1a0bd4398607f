"""Audit of the HTML pages a person sees: security headers (RFC 9700 §4.16; checklist 15,
16), no caching, CSRF tokens in forms, a language, no third-party resources, a label for
every control, and base.html's landmarks. Used by tests/provider/test_page_headers.py and
tests/test_example_pages.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

#: Controls a person fills in; hidden inputs and buttons need no label.
UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


@dataclass
class Form:
    method: str
    action: str
    has_csrf_token: bool = False


@dataclass
class PageAudit(HTMLParser):
    """What the audit needs from a page, collected in one pass of ``html.parser``."""

    html_lang: str | None = None
    forms: list[Form] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    controls: list[dict] = field(default_factory=list)
    label_for: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    main_ids: list[str] = field(default_factory=list)
    skip_links: list[str] = field(default_factory=list)
    meta_referrer: list[str] = field(default_factory=list)
    _label_depth: int = 0

    def __post_init__(self):
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if "id" in attributes:
            self.ids.add(attributes["id"])
        for name in ("src", "href", "srcset", "poster", "data"):
            if name in attributes:
                self.urls.append(attributes[name])
        if tag == "html":
            self.html_lang = attributes.get("lang")
        elif tag == "meta" and attributes.get("name", "").lower() == "referrer":
            self.meta_referrer.append(attributes.get("content", ""))
        elif tag == "main":
            self.main_ids.append(attributes.get("id", ""))
        elif tag == "a" and "skip-link" in attributes.get("class", "").split():
            self.skip_links.append(attributes.get("href", ""))
        elif tag == "form":
            method = attributes.get("method", "get").lower()
            self.forms.append(Form(method=method, action=attributes.get("action", "")))
        elif tag == "label":
            self._label_depth += 1
            if "for" in attributes:
                self.label_for.add(attributes["for"])
        elif tag in ("input", "select", "textarea"):
            if tag == "input" and attributes.get("type", "text").lower() in UNLABELLED_TYPES:
                if self.forms and attributes.get("name") == "csrfmiddlewaretoken":
                    self.forms[-1].has_csrf_token = bool(attributes.get("value"))
                return
            self.controls.append({**attributes, "_tag": tag, "_in_label": self._label_depth > 0})

    def handle_endtag(self, tag):
        if tag == "label" and self._label_depth:
            self._label_depth -= 1

    def unlabelled(self) -> list[dict]:
        def labelled(control: dict) -> bool:
            return (
                control["_in_label"]
                or control.get("id", "") in self.label_for
                or bool(control.get("aria-label", "").strip())
                or bool(control.get("aria-labelledby", "").strip())
            )

        return [c for c in self.controls if not labelled(c)]


def audit(response, *, own_host: str = "testserver"):
    """Assert what every page must have; return the parsed page for page-specific checks."""
    assert response.get("X-Frame-Options") == "DENY"
    csp = response.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in [d.strip() for d in csp.split(";")], csp
    assert response.get("Referrer-Policy") == "no-referrer"
    assert "no-store" in response.get("Cache-Control", "")
    assert response["Content-Type"].startswith("text/html")

    page = PageAudit()
    page.feed(response.content.decode())
    page.close()
    assert page.html_lang, "<html> has no lang"
    # RFC 9700 §4.16: nothing from another origin (it would learn who looks, and when).
    for url in page.urls:
        parts = urlsplit(url.strip())
        if parts.netloc:
            assert parts.netloc == own_host, f"third-party resource: {url}"
    for form in page.forms:
        action_host = urlsplit(form.action).netloc
        if form.method == "post" and action_host in ("", own_host):
            assert form.has_csrf_token, f"POST form to {form.action or 'itself'} has no CSRF token"
    assert page.unlabelled() == [], "controls without a label"
    return page


def audit_base_page(response, **kwargs) -> PageAudit:
    """A page built on oauthkit/provider/base.html: also one <main>, reachable by a skip link.

    Its <meta> referrer policy is same-origin, which overrides the header: no Referer to
    other origins either, but with "no-referrer" browsers send ``Origin: null`` on the
    page's own POST forms and Django's CSRF check refuses them
    (tests/browser/test_pages_browser.py shows it in Chromium).
    """
    page = audit(response, **kwargs)
    assert page.main_ids == ["content"]
    assert page.skip_links == ["#content"]
    assert page.meta_referrer == ["same-origin"]
    return page
