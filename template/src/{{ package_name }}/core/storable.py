"""What PostgreSQL can store: text without NUL characters or lone UTF-16 surrogates.

Both are valid JSON (`"\\u0000"`, `"\\ud83d"`) and valid Python strings, but a `text` or
`jsonb` column refuses them, and a refusal inside a batched write would fail the whole
batch. Ingress refuses them field by field (`problem`, `find_problem`); what the service
produces itself (a model's output, a tool result, an error message) is cleaned instead
(`sanitize`), so that it can always be recorded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TypeVar

T = TypeVar("T")
Path = tuple[str | int, ...]

REPLACEMENT = "\ufffd"
STORABLE_STRING = "^[^\\u0000]*$"
"""A JSON Schema pattern for strings without a NUL character. Lone surrogates are not
Unicode text, so no JSON Schema string holds one, and the pattern need not say so."""
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None when it can."""
    if "\x00" in text:
        return "holds a NUL character (\\u0000)"
    if text.isascii():
        return None
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return f"holds a lone UTF-16 surrogate (\\u{ord(found.group()):04x})"


def find_problem(value: object, path: Path = ()) -> tuple[Path, str] | None:
    """The first string in `value` (a JSON-like value: keys too) that cannot be stored,
    with its path and the reason; None when everything can be."""
    if isinstance(value, str):
        reason = problem(value)
        return None if reason is None else (path, reason)
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and (reason := problem(key)) is not None:
                return path, f"has a key that {reason}"
            if (found := find_problem(item, (*path, str(key)))) is not None:
                return found
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        for index, item in enumerate(value):
            if (found := find_problem(item, (*path, index))) is not None:
                return found
    return None


def dotted(path: Path) -> str:
    """A path as `data.items.0.name`."""
    return ".".join(str(part) for part in path)


def sanitize_text(text: str) -> str:
    """`text` with every NUL character and lone surrogate replaced by U+FFFD."""
    if "\x00" not in text and text.isascii():
        return text
    return _UNSTORABLE.sub(REPLACEMENT, text)


def sanitize(value: T) -> T:
    """`value` (a JSON-like value) with every string, keys included, made storable."""
    if isinstance(value, str):
        return sanitize_text(value)  # type: ignore[return-value]
    if isinstance(value, Mapping):
        return {  # type: ignore[return-value]
            sanitize_text(key) if isinstance(key, str) else key: sanitize(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(sanitize(item) for item in value)
    return value
