"""The default project passes its own lint, type check, tests and format check.

Each command runs from outside, in a clean environment, exactly as the generated
project's README tells its user: `make install`, `make lint`, `make type-check`,
`make test` (against a PostgreSQL server, and against the embedded one that the
project starts itself when `DATABASE_URL` is unset) and `make format`.
"""

from __future__ import annotations

import os
import socket
import subprocess
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from tests.helpers import Render

pytestmark = pytest.mark.slow
# Under `pytest -n 2 --dist loadgroup` each xdist group runs on one worker, in file
# order, so the two workers share the slow steps below. A worker renders and
# installs its own copy of the default project (the `project` fixture).
static_checks = pytest.mark.xdist_group("default-project-checks")
server_run = pytest.mark.xdist_group("default-project-server")
embedded_run = pytest.mark.xdist_group("default-project-embedded")

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# One `make` target may install or test a whole project; never hang the suite on it.
COMMAND_TIMEOUT_SECONDS = 900
# Variables of this test session that must not leak into the generated project's.
LEAKING_VARIABLES = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
LEAKING_PREFIXES = ("PYTEST_",)  # PYTEST_XDIST_WORKER, PYTEST_ADDOPTS, ...
GIT = ("git", "-c", "user.name=Reflex Tests", "-c", "user.email=tests@example.com")


def project_env(**overrides: str | None) -> dict[str, str]:
    """This process's environment, cleaned as a user's shell would be.

    `UV_CACHE_DIR` stays (the session fixture set it to the shared cache). A value
    of None removes the variable.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in LEAKING_VARIABLES and not key.startswith(LEAKING_PREFIXES)
    }
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(
    project: Path, *command: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `command` in `project`; fail the test with its output if it fails."""
    try:
        result = subprocess.run(
            command,
            cwd=project,
            env=dict(env) if env is not None else project_env(),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`{' '.join(command)}` took over {exc.timeout:.0f}s in {project}")
    if result.returncode != 0:
        pytest.fail(
            f"`{' '.join(command)}` exited {result.returncode} in {project}\n"
            f"--- stdout ---\n{result.stdout[-8000:]}\n--- stderr ---\n{result.stderr[-8000:]}",
        )
    return result


def database_url() -> str:
    """The PostgreSQL server to test against; skip (fail under CI) when it is down."""
    url = os.environ.get("REFLEX_TEST_DATABASE_URL", DEFAULT_DATABASE_URL)
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        reason = (
            f"no PostgreSQL server at {host}:{port} ({exc}); start one or set "
            "REFLEX_TEST_DATABASE_URL"
        )
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(reason)
        pytest.skip(reason)
    return url


def render_and_install(render: Render, answers: Mapping[str, Any], name: str) -> Path:
    """Render `answers` (with the post-copy `uv lock`), commit the result, install it."""
    project = render(answers, name=name)
    run(project, "git", "init", "--quiet", "--initial-branch=main")
    run(project, "git", "add", "--all")
    run(project, *GIT, "commit", "--quiet", "--no-gpg-sign", "-m", "Render the template")
    run(project, "make", "install")
    return project


@pytest.fixture(scope="module")
def project(render_to_run: Render, default_answers: Mapping[str, Any]) -> Path:
    """The default project, rendered, committed and installed once for the module."""
    return render_and_install(render_to_run, default_answers, "default")


@static_checks
def test_lint_passes(project: Path) -> None:
    run(project, "make", "lint")


@static_checks
def test_type_check_passes(project: Path) -> None:
    run(project, "make", "type-check")


@server_run
def test_tests_pass_against_a_postgresql_server(project: Path) -> None:
    run(project, "make", "test", env=project_env(DATABASE_URL=database_url()))


@embedded_run
def test_tests_pass_against_the_embedded_postgresql(project: Path) -> None:
    run(project, "make", "test", env=project_env(DATABASE_URL=None))


@embedded_run
def test_install_and_tests_leave_the_git_tree_clean(project: Path) -> None:
    # Runs after the embedded run (same group, file order), which writes the most:
    # caches and the server's data must all be ignored by the project's .gitignore.
    assert run(project, "git", "status", "--porcelain").stdout == ""


@pytest.mark.xdist_group("formatted-project")  # its own project
def test_format_changes_nothing(render_to_run: Render, default_answers: Mapping[str, Any]) -> None:
    project = render_and_install(render_to_run, default_answers, "formatted")

    run(project, "make", "format")

    assert run(project, "git", "status", "--porcelain").stdout == ""
