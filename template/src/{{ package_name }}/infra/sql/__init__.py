"""Named SQL statements, loaded from `queries.sql`."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


def parse_queries(text: str) -> dict[str, str]:
    """Split a `-- name: x` file into {name: statement}, without comments or the `;`."""
    queries: dict[str, str] = {}
    parts = _NAME.split(text)
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        lines = [line for line in body.splitlines() if not line.lstrip().startswith("--")]
        statement = "\n".join(lines).strip().rstrip(";").strip()
        if not statement:
            raise ValueError(f"query {name!r} is empty")
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        queries[name] = statement
    return queries


@cache
def queries() -> dict[str, str]:
    return parse_queries(files(__package__).joinpath("queries.sql").read_text(encoding="utf-8"))


def query(name: str) -> str:
    """The statement called `name` in queries.sql."""
    return queries()[name]
