"""Copier task run once after `copier copy`, inside the new project.

It locks the project's dependencies with `uv lock` so that the first commit of the
new project already holds `uv.lock`. Nothing here is required: without uv, or
when locking fails (no network, say), the project still works and `make install`
locks it later. The script therefore always exits 0. Standard library only: it
runs with the Python that runs Copier.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

# Locking resolves against the package index; never hang a `copier copy` on it.
LOCK_TIMEOUT_SECONDS = 300


def warn(message: str) -> None:
    """Tell the user on stderr, where Copier's own messages go."""
    print(f"reflex: {message}", file=sys.stderr)


def lock(project: Path) -> bool:
    """Run `uv lock` in `project`; return whether `uv.lock` was written."""
    uv = shutil.which("uv")
    if uv is None:
        warn("uv is not on PATH; skipped `uv lock` (`make install` will lock later).")
        return False
    try:
        result = subprocess.run(
            [uv, "lock", "--quiet"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=LOCK_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        warn(f"`uv lock` did not finish ({exc}); `make install` will lock later.")
        return False
    if result.returncode != 0:
        details = result.stderr.strip() or result.stdout.strip()
        warn(f"`uv lock` failed; `make install` will lock later.\n{details}")
        return False
    return True


def main() -> int:
    """Lock the project in the current directory; always succeed."""
    project = Path.cwd()
    if (project / "pyproject.toml").is_file():
        lock(project)
    else:
        warn("no pyproject.toml here; skipped `uv lock`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
