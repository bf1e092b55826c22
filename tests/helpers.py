"""Rendering the template from tests: shared by conftest.py and the test modules."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import copier
import yaml

if TYPE_CHECKING:
    from collections.abc import Mapping

REPO_ROOT = Path(__file__).resolve().parent.parent
COPIER_YML = REPO_ROOT / "copier.yml"


class Render(Protocol):
    """Render the template with some answers into a new folder and return it."""

    def __call__(
        self, answers: Mapping[str, Any], *, name: str = "project", skip_tasks: bool = False
    ) -> Path: ...


def load_questions() -> dict[str, dict[str, Any]]:
    """The questions of copier.yml: every key that is not a `_setting`."""
    config: dict[str, Any] = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    return {key: value for key, value in config.items() if not key.startswith("_")}


def render_template(dst: Path, answers: Mapping[str, Any], *, skip_tasks: bool = False) -> Path:
    """Render the working tree of this repository (committed or not) into `dst`."""
    copier.run_copy(
        str(REPO_ROOT),
        dst,
        data=dict(answers),
        vcs_ref="HEAD",
        defaults=True,
        unsafe=True,
        quiet=True,
        skip_tasks=skip_tasks,
    )
    return dst
