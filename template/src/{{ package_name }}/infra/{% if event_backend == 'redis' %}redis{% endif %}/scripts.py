"""The Lua scripts of the Redis event store, loaded from `scripts.lua`."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)
PRELUDE = "prelude"


def parse_scripts(text: str) -> dict[str, str]:
    """Split a `-- name: X` file into {name: script}, the `prelude` block before each script."""
    blocks: dict[str, str] = {}
    parts = _NAME.split(text)
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        lines = [line for line in body.splitlines() if not line.lstrip().startswith("--")]
        if not "\n".join(lines).strip():
            raise ValueError(f"script {name!r} is empty")
        if name in blocks:
            raise ValueError(f"script {name!r} is defined twice")
        # Comments stay: Redis runs the text as it is in the file.
        blocks[name] = body.strip()
    prelude = blocks.pop(PRELUDE, None)
    if prelude is None:
        raise ValueError(f"no {PRELUDE!r} block")
    # The layout the scripts had as Python strings: the same text, so the same SHA1 digests
    # and the same line numbers in Redis's error messages.
    return {name: f"\n{prelude}\n\n{code}\n" for name, code in blocks.items()}


@cache
def named_scripts() -> dict[str, str]:
    return parse_scripts(files(__package__).joinpath("scripts.lua").read_text(encoding="utf-8"))


def script(name: str) -> str:
    """The script called `name` in scripts.lua, the prelude included."""
    return named_scripts()[name]
