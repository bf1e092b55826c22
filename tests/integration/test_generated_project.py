"""Full tier: each variant of `FULL_VARIANTS` passes its own checks.

Each command runs from outside, in a clean environment, exactly as the generated
project's README tells its user: `make install`, `make lint`, `make type-check`,
`make test` against a PostgreSQL server (and Redis, for the Redis backend), then
`make format`, which must change nothing; installing and testing must leave the git
tree clean. The default project also runs `make test` without `DATABASE_URL`, against
the embedded PostgreSQL it starts itself.

Each variant is one test, so that the two xdist workers share the variants: all of a
variant's steps run, and the test reports every step that failed.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from tests.helpers import project_env, run_command
from tests.variants import FULL_VARIANTS, Variant

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from tests.helpers import Render

pytestmark = pytest.mark.slow

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# One `make` target may install or test a whole project (the default project's tests take
# 12 to 15 minutes beside another variant on 2 cores); never hang the suite on it.
COMMAND_TIMEOUT_SECONDS = 1800
GIT = ("git", "-c", "user.name=Reflex Tests", "-c", "user.email=tests@example.com")


def run(project: Path, *command: str, env: Mapping[str, str] | None = None) -> str:
    """Run `command` in `project` and return its output; fail the test if it fails."""
    ok, account = run_command(project, *command, env=env, timeout=COMMAND_TIMEOUT_SECONDS)
    if not ok:
        pytest.fail(account)
    return account


def server_url(variable: str, default: str, what: str) -> str:
    """A server the tests need: `variable` or `default`; skip (fail under CI) when down."""
    url = os.environ.get(variable, default)
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    try:
        socket.create_connection((host, port or 0), timeout=2).close()
    except OSError as exc:
        reason = f"no {what} server at {host}:{port} ({exc}); start one or set {variable}"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(reason)
        pytest.skip(reason)
    return url


def services(variant: Variant) -> dict[str, str]:
    """The servers `variant`'s own tests use, as the variables its README names."""
    urls = {
        "DATABASE_URL": server_url("REFLEX_TEST_DATABASE_URL", DEFAULT_DATABASE_URL, "PostgreSQL")
    }
    if variant.answers.get("event_backend") == "redis":
        urls["REDIS_URL"] = server_url("REFLEX_TEST_REDIS_URL", DEFAULT_REDIS_URL, "Redis")
        if cluster := os.environ.get("REFLEX_TEST_REDIS_CLUSTER_URL"):
            urls["REDIS_CLUSTER_URL"] = cluster  # else the project's tests start one
    return urls


def fuzzing(name: str) -> dict[str, str]:
    """Schemathesis searches the default project's API in full (100 examples per operation);
    the other renders' APIs are subsets of it, searched more briefly, to keep the suite short."""
    return {} if name == "default" else {"SCHEMATHESIS_MAX_EXAMPLES": "25"}


def render_and_install(render: Render, answers: Mapping[str, Any], name: str) -> Path:
    """Render `answers` (with the post-copy `uv lock`), commit the result, install it."""
    project = render(answers, name=name)
    run(project, "git", "init", "--quiet", "--initial-branch=main")
    run(project, "git", "add", "--all")
    run(project, *GIT, "commit", "--quiet", "--no-gpg-sign", "-m", "Render the template")
    # Bytecode compiled once, at install: the project's tests start a few hundred server
    # processes, and where PYTHONDONTWRITEBYTECODE is set (as in many containers) each
    # would compile its dependencies again (a server imports in 5.5 s instead of 3 s).
    run(project, "make", "install", env={**os.environ, "UV_COMPILE_BYTECODE": "1"})
    return project


def git_changes(project: Path) -> list[str]:
    return run(project, "git", "status", "--porcelain").splitlines()


@pytest.mark.parametrize("variant", FULL_VARIANTS, ids=lambda v: v.name)
def test_variant_passes_its_own_checks(
    variant: Variant, render_to_run: Render, default_answers: Mapping[str, Any]
) -> None:
    env = project_env(**services(variant), **fuzzing(variant.name))
    project = render_and_install(
        render_to_run, {**default_answers, **variant.answers}, variant.name
    )
    failures: list[str] = []

    for target in ("lint", "type-check", "test"):
        ok, account = run_command(project, "make", target, env=env, timeout=COMMAND_TIMEOUT_SECONDS)
        if not ok:
            failures.append(account)
    if left := git_changes(project):
        failures.append("`make install` and `make test` left in the git tree:\n" + "\n".join(left))
    ok, account = run_command(project, "make", "format", timeout=COMMAND_TIMEOUT_SECONDS)
    if not ok:
        failures.append(account)
    elif formatted := sorted(set(git_changes(project)) - set(left)):
        failures.append("`make format` changed:\n" + "\n".join(formatted))

    assert not failures, f"{len(failures)} failed steps:\n\n" + "\n\n".join(failures)


def test_default_project_passes_its_tests_against_the_embedded_postgresql(
    render_to_run: Render, default_answers: Mapping[str, Any]
) -> None:
    project = render_and_install(render_to_run, default_answers, "default-embedded")

    run(project, "make", "test", env=project_env(DATABASE_URL=None, **fuzzing("default-embedded")))

    # The embedded server writes the most: its data and caches must all be ignored.
    assert git_changes(project) == []
