"""Fixtures shared by the template's tests: rendering the template, a shared uv cache."""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import REPO_ROOT, Render, load_questions, render_template

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping


@pytest.fixture(scope="session")
def uv_cache_dir() -> Path:
    """One uv cache for every rendered project: `UV_CACHE_DIR`, else build/uv-cache."""
    configured = os.environ.get("UV_CACHE_DIR")
    cache = Path(configured) if configured else REPO_ROOT / "build" / "uv-cache"
    cache.mkdir(parents=True, exist_ok=True)
    return cache


@pytest.fixture(scope="session", autouse=True)
def _shared_uv_cache(uv_cache_dir: Path) -> Iterator[None]:
    """Point every uv run of the session (post-copy `uv lock` included) at the cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UV_CACHE_DIR", str(uv_cache_dir))
        yield


@pytest.fixture(scope="session")
def default_answers() -> Mapping[str, Any]:
    """The literal defaults of copier.yml, passed as data so they are validated too.

    Derived defaults (a `{{ ... }}` template, such as `package_name`) are left to
    Copier, as a user who accepts every default would. Read-only: build a variant
    with `{**default_answers, "question": value}`.
    """
    return MappingProxyType(
        {
            name: question["default"]
            for name, question in load_questions().items()
            if "default" in question and not re.search(r"{{|{%", str(question["default"]))
        }
    )


@pytest.fixture(scope="session")
def render(tmp_path_factory: pytest.TempPathFactory) -> Render:
    """Render the template into a fresh temporary folder (one per call)."""

    def _render(
        answers: Mapping[str, Any], *, name: str = "project", skip_tasks: bool = False
    ) -> Path:
        return render_template(tmp_path_factory.mktemp(name) / name, answers, skip_tasks=skip_tasks)

    return _render
