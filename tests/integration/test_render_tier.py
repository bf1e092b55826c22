"""Render tier: every transports subset x every model provider is lint-, format- and
type-clean (strict), as the generated project's `make lint` and `make type-check` check it.

The 49 renders share one virtual environment holding the union of their requirements
(`MatrixEnv`): its ruff and mypy run inside each render, so the render's own
pyproject.toml configures them. Nothing is written into a render (no ruff cache; mypy's
cache lives in build/mypy-cache), so the other tests see the render as Copier left it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers import (
    BUILD_DIR,
    file_lock,
    project_overrides,
    project_requirements,
    run_command,
)
from tests.variants import RENDER_VARIANTS, Variant

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.helpers import MatrixEnv, MatrixRenders

pytestmark = pytest.mark.slow

# One mypy cache per xdist worker and Python version, kept between runs: mypy reuses
# what it checked of the third-party packages (most of the time of a cold run), and its
# entries depend on the target Python version. The first worker to fill a cache for a
# version leaves a copy (the seed) that the other worker starts from.
MYPY_CACHE = BUILD_DIR / "mypy-cache"
TOOL_TIMEOUT_SECONDS = 600


@contextlib.contextmanager
def mypy_cache(python_version: str) -> Iterator[Path]:
    """This worker's mypy cache for `python_version`, locked while in use.

    The lock also keeps two concurrent test runs from writing one cache at once.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    cache = MYPY_CACHE / f"{worker}-py{python_version}"
    seed = MYPY_CACHE / f"seed-py{python_version}"
    with file_lock(MYPY_CACHE / f"{cache.name}.lock"):
        if not cache.exists() and seed.exists():
            shutil.copytree(seed, cache)
        yield cache
        if cache.is_dir() and not seed.exists():
            copy = Path(tempfile.mkdtemp(prefix=f"{seed.name}-", dir=MYPY_CACHE))
            shutil.copytree(cache, copy, dirs_exist_ok=True)
            with contextlib.suppress(OSError):  # another worker's seed came first
                copy.rename(seed)
            shutil.rmtree(copy, ignore_errors=True)


@pytest.mark.parametrize("variant", RENDER_VARIANTS, ids=lambda v: v.name)
def test_variant_is_lint_format_and_type_clean(
    variant: Variant, matrix_render: MatrixRenders, matrix_env: MatrixEnv
) -> None:
    project = matrix_render(variant)
    matrix_env.ensure(project_requirements(project), project_overrides(project))
    ruff = matrix_env.tool("ruff")

    outcomes = [
        run_command(project, ruff, "check", "--no-cache", ".", timeout=TOOL_TIMEOUT_SECONDS),
        # Formatting must change nothing: the check lists every file it would rewrite.
        run_command(
            project, ruff, "format", "--check", "--no-cache", ".", timeout=TOOL_TIMEOUT_SECONDS
        ),
    ]
    with mypy_cache(variant.answers["python_version"]) as cache:
        outcomes.append(
            run_command(
                project,
                matrix_env.tool("mypy"),
                "--cache-dir",
                cache,
                timeout=TOOL_TIMEOUT_SECONDS,
            )
        )

    failures = [account for ok, account in outcomes if not ok]
    assert not failures, "\n\n".join(failures)
