"""Rendering the template and running tools from tests: shared by conftest.py and the tests."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tomllib
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import copier
import yaml

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from tests.variants import Variant

REPO_ROOT = Path(__file__).resolve().parent.parent
COPIER_YML = REPO_ROOT / "copier.yml"
BUILD_DIR = REPO_ROOT / "build"
# Set by conftest.py in the main pytest process, inherited by the xdist workers: the
# folder under build/matrix that the processes of one test run share.
RUN_ID_VARIABLE = "REFLEX_TEST_RUN"

# Variables of the test session that must not leak into a generated project's tools.
LEAKING_VARIABLES = (
    "VIRTUAL_ENV",
    "UV_PROJECT_ENVIRONMENT",
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
    "MYPYPATH",
    RUN_ID_VARIABLE,
)
LEAKING_PREFIXES = ("PYTEST_",)  # PYTEST_XDIST_WORKER, PYTEST_ADDOPTS, ...


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


def run_dir() -> Path:
    """This test run's shared folder: build/matrix/<run id>."""
    return BUILD_DIR / "matrix" / os.environ[RUN_ID_VARIABLE]


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing), across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# -- running commands -------------------------------------------------------------------


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


def excerpt(output: str | bytes | None, *, head: int = 12_000, tail: int = 4_000) -> str:
    """The telling part of a long output: pytest's failure reports first, then the end."""
    if isinstance(output, bytes):
        output = output.decode(errors="replace")
    output = output or ""
    start = min(
        (i for h in ("= FAILURES =", "= ERRORS =") if (i := output.find(h)) >= 0), default=-1
    )
    if start >= 0 and len(output) - start > head + tail:
        return f"{output[start : start + head]}\n[...]\n{output[-tail:]}"
    if start >= 0:
        return output[start:]
    return output[-(head + tail) :]


def run_command(
    cwd: Path, *command: str | Path, env: Mapping[str, str] | None = None, timeout: float
) -> tuple[bool, str]:
    """Run `command` in `cwd`: (whether it succeeded, its account of itself when not).

    The account names the command and the folder and shows the telling part of the
    output; a timeout is a failure too.
    """
    shown = " ".join(str(part) for part in command)
    # A session of its own, so that a timeout stops the whole tree (make, then pytest and
    # the servers it started), not only `make`, whose children would run on.
    with subprocess.Popen(
        [str(part) for part in command],
        cwd=cwd,
        env=dict(env) if env is not None else project_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            return False, (
                f"`{shown}` took over {timeout:.0f}s in {cwd}\n"
                f"--- stdout ---\n{excerpt(stdout)}\n--- stderr ---\n{excerpt(stderr)}"
            )
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    if result.returncode != 0:
        return False, (
            f"`{shown}` exited {result.returncode} in {cwd}\n"
            f"--- stdout ---\n{excerpt(result.stdout)}\n--- stderr ---\n{excerpt(result.stderr)}"
        )
    return True, result.stdout


def uv_command() -> list[str]:
    """How to call uv: from PATH, else as the module of the Python running the tests."""
    uv = shutil.which("uv")
    return [uv] if uv else [sys.executable, "-m", "uv"]


# -- the render matrix ------------------------------------------------------------------


class MatrixRenders:
    """Each variant rendered once per test run, shared by the xdist workers.

    Renders (without the post-copy task: no `uv lock`) go to
    build/matrix/<run id>/renders/<variant name>. Whichever process asks first
    renders, under a lock; the others wait for it and reuse the result.
    """

    def __init__(self, root: Path, defaults: Mapping[str, Any]) -> None:
        self.root = root
        self.defaults = defaults

    def __call__(self, variant: Variant) -> Path:
        project = self.root / variant.name
        with file_lock(self.root / f"{variant.name}.lock"):
            if not (project / ".copier-answers.yml").is_file():
                shutil.rmtree(project, ignore_errors=True)  # a render that was cut short
                render_template(project, {**self.defaults, **variant.answers}, skip_tasks=True)
        return project


def project_requirements(project: Path) -> set[str]:
    """Every requirement of a rendered project: its dependencies and dependency groups."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = set(pyproject["project"].get("dependencies", []))
    for group in pyproject.get("dependency-groups", {}).values():
        requirements.update(item for item in group if isinstance(item, str))
    return requirements


def project_overrides(project: Path) -> set[str]:
    """A rendered project's `[tool.uv] override-dependencies`: requirements that win over
    what its dependencies ask for (as `uv sync` applies them)."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    return set(pyproject.get("tool", {}).get("uv", {}).get("override-dependencies", []))


class MatrixEnv:
    """One virtual environment for the whole render tier: every variant's requirements.

    Created at the first `ensure()` of a test run, in the run's folder; each
    `ensure()` adds what a render needs and the environment lacks (a provider's
    extra, Redis, Logfire), so the environment ends up with the union of the
    matrix's requirements. Installing from the shared uv cache takes seconds.
    """

    INSTALL_TIMEOUT_SECONDS = 600

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / "env"
        self._record = root / "env-requirements.txt"

    def tool(self, name: str) -> Path:
        return self.path / "bin" / name

    def ensure(self, requirements: Iterable[str], overrides: Iterable[str] = ()) -> None:
        """Install `requirements` unless the environment already has them all; `overrides`
        win over what the requirements ask for (`uv pip install --overrides`)."""
        wanted = set(requirements) | {f"override:{o}" for o in overrides}
        with file_lock(self.root / "env.lock"):
            installed = (
                set(self._record.read_text(encoding="utf-8").splitlines())
                if self._record.is_file()
                else set()
            )
            if wanted <= installed:
                return
            if not installed:
                shutil.rmtree(self.path, ignore_errors=True)
                self._uv("venv", "--quiet", "--python", sys.executable, str(self.path))
            everything = sorted(installed | wanted)
            plain = [r for r in everything if not r.startswith("override:")]
            forced = [r.removeprefix("override:") for r in everything if r.startswith("override:")]
            overrides_file = self.root / "env-overrides.txt"
            overrides_file.write_text("\n".join(forced) + "\n", encoding="utf-8")
            self._uv(
                "pip",
                "install",
                "--quiet",
                "--python",
                str(self.tool("python")),
                "--overrides",
                str(overrides_file),
                *plain,
            )
            self._record.write_text("\n".join(everything), encoding="utf-8")

    def _uv(self, *arguments: str) -> None:
        ok, account = run_command(
            self.root, *uv_command(), *arguments, timeout=self.INSTALL_TIMEOUT_SECONDS
        )
        if not ok:
            raise RuntimeError(f"could not build the render tier's environment:\n{account}")
