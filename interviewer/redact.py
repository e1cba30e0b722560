"""Secrets kept out of what is shown: URLs are masked before they reach a page, a message or a log.

A URL may carry credentials in its userinfo (``https://user:secret@host``) or in its query
(``?api-key=...``); every place that shows a configured URL shows ``redact_url(url)`` instead.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

MASK = "***"
#: Query (or fragment) parameters whose value is masked, matched anywhere in the name.
SENSITIVE = re.compile(
    r"key|token|secret|passw|pwd|auth|signature|sig$|credential|session|cookie", re.IGNORECASE
)


def _mask_params(part: str) -> str:
    """``a=1&api-key=x`` as ``a=1&api-key=***``: only sensitive values change, the rest stays."""
    if not part:
        return part
    shown = []
    for piece in part.split("&"):
        name, sep, value = piece.partition("=")
        sensitive = sep and value and SENSITIVE.search(unquote(name))
        shown.append(f"{name}={MASK}" if sensitive else piece)
    return "&".join(shown)


def redact_url(url: str) -> str:
    """``url`` with its userinfo and the values of sensitive query parameters masked.

    ``https://user:secret@host/v1?api-key=k&x=1`` becomes ``https://***@host/v1?api-key=***&x=1``;
    a URL without credentials is returned unchanged. Something that cannot be parsed as a URL is
    not shown at all.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    return urlunsplit(
        (parts.scheme, netloc, parts.path, _mask_params(parts.query), _mask_params(parts.fragment))
    )


def redact_database_url(url: str) -> str:
    """A SQLAlchemy URL as SQLAlchemy shows it with the password hidden, and sensitive query
    values masked too (some drivers take ``?password=``)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # not a URL: anything before an @ may be a password
        return f"{MASK}@{url.rpartition('@')[2]}" if "@" in url else url
    base, sep, query = shown.partition("?")
    return base + sep + _mask_params(query)
