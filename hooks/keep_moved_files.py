"""Copier migration (before updating to v0.2.0): keep the user's edits to files that move.

Release 0.2.0 moved the machinery out of `agent/` (the loop, streaming, history,
retention, the timer, the runtime) and replaced the stores by one core over backends. An
update deletes the old files, edits included. This script renders the version the project
comes from with the project's answers, compares each file that moves, and saves the ones
the user changed next to where they were, as `<name>.py.orig`, so that nothing is lost:
the user ports the change (see the template's CHANGELOG) and deletes the copy.

Copier runs it in the project's folder with `VERSION_FROM` set; the template's path is the
first argument.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import copier
import yaml

# The files of 0.1.x that 0.2.0 moves or removes, under src/<package>/.
MOVED = (
    "agent/loop.py",
    "agent/streaming.py",
    "agent/history.py",
    "agent/retention.py",
    "agent/timer.py",
    "agent/runtime.py",
    "agent/background.py",
    "infra/runtime.py",
    "infra/postgres_store.py",
    "infra/memory_store.py",
    "infra/redis/store.py",
)
SUFFIX = ".orig"


def edited_files(project: Path, pristine: Path, package: str) -> list[str]:
    """The moved files that exist in `project` and differ from the `pristine` render."""
    edited = []
    for name in MOVED:
        path = Path("src", package, name)
        mine, theirs = project / path, pristine / path
        if mine.is_file() and (not theirs.is_file() or mine.read_bytes() != theirs.read_bytes()):
            edited.append(str(path))
    return edited


def keep(project: Path, template: str, version: str) -> list[str]:
    """Save the edited moved files as `.orig` copies; return their paths."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    data = {key: value for key, value in answers.items() if not key.startswith("_")}
    with tempfile.TemporaryDirectory() as folder:
        pristine = Path(folder) / "pristine"
        copier.run_copy(
            template,
            pristine,
            data=data,
            vcs_ref=version,
            defaults=True,
            unsafe=True,
            quiet=True,
            skip_tasks=True,
        )
        edited = edited_files(project, pristine, data["package_name"])
    for path in edited:
        (project / path).with_name(Path(path).name + SUFFIX).write_bytes(
            (project / path).read_bytes()
        )
    return edited


def main() -> int:
    template, version = sys.argv[1], os.environ["VERSION_FROM"]
    kept = keep(Path.cwd(), template, version)
    if kept:
        lines = [
            "These files move in 0.2.0 and you had edited them; your versions are kept as:",
            *(f"  {path}{SUFFIX}" for path in kept),
            "Port your changes (see the template's CHANGELOG, 0.2.0), then delete the copies.",
        ]
        sys.stderr.write("\n".join(lines) + "\n")  # where Copier's own messages go
    return 0


if __name__ == "__main__":
    sys.exit(main())
