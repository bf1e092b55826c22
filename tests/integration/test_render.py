"""The default answers render a complete project: nothing left unrendered or empty."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tests.helpers import REPO_ROOT

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from tests.helpers import Render

# Files that are empty by definition.
EMPTY_BY_DESIGN = {"py.typed"}  # PEP 561 marker
# Jinja left in a rendered file; GitHub Actions' own `${{ ... }}` is fine.
JINJA = re.compile(r"{%|{{")
JINJA_IN_WORKFLOW = re.compile(r"{%|(?<!\$){{")


@pytest.fixture(scope="module")
def project(render: Render, default_answers: Mapping[str, Any]) -> Path:
    """The default project, rendered once for this module (without `uv lock`)."""
    return render(default_answers, name="default", skip_tasks=True)


def _files(project: Path) -> list[Path]:
    return sorted(p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts)


def _is_workflow(project: Path, path: Path) -> bool:
    return path.relative_to(project).parts[:2] == (".github", "workflows")


def test_render_leaves_no_jinja_suffix(project: Path) -> None:
    assert [str(p.relative_to(project)) for p in _files(project) if ".jinja" in p.name] == []


def test_render_leaves_no_jinja_in_paths(project: Path) -> None:
    paths = [str(p.relative_to(project)) for p in project.rglob("*")]
    assert [p for p in paths if JINJA.search(p)] == []


def test_render_leaves_no_jinja_in_contents(project: Path) -> None:
    leftovers: list[str] = []
    for path in _files(project):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary file
        pattern = JINJA_IN_WORKFLOW if _is_workflow(project, path) else JINJA
        leftovers += [
            f"{path.relative_to(project)}:{number}: {line.strip()}"
            for number, line in enumerate(text.splitlines(), start=1)
            if pattern.search(line)
        ]
    assert leftovers == []


def test_render_keeps_github_expressions_in_workflows(project: Path) -> None:
    workflows = [p for p in _files(project) if _is_workflow(project, p)]
    if not workflows:
        pytest.skip("the default answers render no GitHub workflow")
    assert any("${{" in p.read_text(encoding="utf-8") for p in workflows)


def test_render_leaves_no_empty_file(project: Path) -> None:
    empty = [
        str(p.relative_to(project))
        for p in _files(project)
        if p.stat().st_size == 0 and p.name not in EMPTY_BY_DESIGN
    ]
    assert empty == []


def test_render_records_the_answers_for_copier_update(project: Path) -> None:
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["_src_path"]
    assert answers["_commit"]
    assert answers["project_name"] == "Reflex Agent"
    assert answers["package_name"] == "reflex_agent"


def test_render_names_the_package_after_the_project(project: Path) -> None:
    assert (project / "src" / "reflex_agent" / "__init__.py").is_file()


def test_copier_cli_renders_as_the_readme_shows(tmp_path: Path) -> None:
    """`copier copy --trust <template-repo> my-agent`, answering every default."""
    command = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--quiet"]
    command += ["--vcs-ref=HEAD", "--skip-tasks", "--data", "project_name=Support Bot"]
    result = subprocess.run(
        [*command, str(REPO_ROOT), "my-agent"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    answers = yaml.safe_load((tmp_path / "my-agent" / ".copier-answers.yml").read_text())
    assert answers["package_name"] == "support_bot"
