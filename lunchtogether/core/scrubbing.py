"""Secrets out of logs and error reports: by the name of a field, and inside free text."""

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

FILTERED = "[Filtered]"

# Names of fields, headers, variables and cookies whose values are secrets; matched anywhere in the name,
# so `currentPassword`, `accessToken`, `set-cookie` and `x-api-key` are all caught.
_SECRET_NAME = re.compile(
    r"passw|pwd|secret|token|authori[sz]ation|cookie|session|credential|api[-_]?key|private[-_]?key|jwt|csrf|xsrf",
    re.IGNORECASE,
)
# Secrets inside free text (exception messages, GraphQL documents, cookie strings): JWTs, bearer
# credentials, and `password: "…"` / `access_token=…` assignments.
_SECRET_TEXT = re.compile(
    r"(?P<jwt>\beyJ[\w-]*\.[\w-]+\.[\w-]*)"
    r"|(?P<scheme>(?i:\bbearer\s+))[^\s\"',;]+"
    r"|(?P<name>(?i:[\w.-]*(?:passw|pwd|secret|token)[\w.-]*))"
    r"(?:\"?\s*[:=]\s*\"(?:[^\"\\]|\\.)*\"|\s*=\s*[^\s\"',;&()\[\]{}]+)"
)
# Every match of _SECRET_TEXT contains one of these (lower-cased).
_SECRET_HINTS = ("eyj", "bearer", "passw", "pwd", "secret", "token")


def is_secret_name(name: object) -> bool:
    return isinstance(name, str) and _is_secret_str(name)


@lru_cache(maxsize=4096)
def _is_secret_str(name: str) -> bool:
    """Cached: names repeat (every log line has the same fields), and the case-blind regex is slow."""
    return _SECRET_NAME.search(name) is not None


def _is_secret_pair_name(name: object) -> bool:
    """A header name, not a line of text that happens to mention a token."""
    return is_secret_name(name) and re.fullmatch(r"[\w.-]{1,64}", str(name)) is not None


def scrub_text(text: str) -> str:
    """Free text can quote a token or a password (a GraphQL document, a cookie header, an error message)."""
    # Most lines (every access line) hold none of these words: a substring test spares them the regex.
    lowered = text.lower()
    for hint in _SECRET_HINTS:  # a loop, not any(): this runs for every string of every log line
        if hint in lowered:
            return _SECRET_TEXT.sub(_filtered_match, text)
    return text


def _filtered_match(match: re.Match[str]) -> str:
    """Keeps the name of an assignment (`password=`) or the scheme so a reader sees what was removed."""
    if match["name"]:
        return f"{match['name']}={FILTERED}"
    return f"{match['scheme'] or ''}{FILTERED}"


# Values with nothing inside to scrub: passed over without a call (every log line has a few).
_PLAIN = frozenset({int, float, bool, type(None)})


def scrub(value: Any) -> Any:
    """A copy of `value` with every secret-named entry and secret-looking text replaced, at any depth."""
    if isinstance(value, str):  # first: most values are
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {
            key: FILTERED if is_secret_name(key) else item if type(item) in _PLAIN else scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        if len(value) == 2 and _is_secret_pair_name(value[0]):  # a header as a [name, value] pair
            return [value[0], FILTERED]
        return [scrub(item) for item in value]
    return value
