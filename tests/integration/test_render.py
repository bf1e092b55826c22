"""Render hygiene, for every variant of the matrix: nothing left unrendered, empty or
template-only; GitHub Actions' own `${{ }}` expressions intact; custom events in the
event union and in the generated tests. Then what the default answers record and name.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from typing import TYPE_CHECKING, Any, Final

import pytest
import yaml

from hooks.extensions import event_class_name
from tests.helpers import REPO_ROOT
from tests.variants import ALL_VARIANTS, DEFAULT, TRANSPORTS, Variant

if TYPE_CHECKING:
    from pathlib import Path

    from tests.helpers import MatrixRenders

ANSWERS_FILE = ".copier-answers.yml"
# Files that may be empty: the PEP 561 marker, package markers, and Copier's answers.
EMPTY_BY_DESIGN: Final = {"py.typed", "__init__.py", ANSWERS_FILE}
# What a template folder may hold but a generated project must not: build and tool
# output, an embedded server's data, merge leftovers, the template's own settings.
TEMPLATE_ONLY: Final = re.compile(
    r"(^|/)(__pycache__|\.pytest_cache|\.mypy_cache|\.ruff_cache|\.venv|\.data|\.git"
    r"|copier\.ya?ml)(/|$)|\.(pyc|orig|rej)$|\.jinja|(^|/)\.DS_Store$"
)
# Jinja left in a rendered file; GitHub Actions' own `${{ ... }}` is fine in workflows.
JINJA: Final = re.compile(r"{%|{{|{#")
JINJA_IN_WORKFLOW: Final = re.compile(r"{%|(?<!\$){{|{#")
GITHUB_EXPRESSION: Final = re.compile(r"\$\{\{(.*?)\}\}")
WORKFLOW_SOURCES: Final = REPO_ROOT / "template"

each_variant = pytest.mark.parametrize("variant", ALL_VARIANTS, ids=lambda v: v.name)


def _files(project: Path) -> list[Path]:
    return sorted(p for p in project.rglob("*") if p.is_file())


def _relative(project: Path, path: Path) -> str:
    return path.relative_to(project).as_posix()


def _is_workflow(project: Path, path: Path) -> bool:
    return path.relative_to(project).parts[:2] == (".github", "workflows")


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None  # binary


@each_variant
def test_render_leaves_no_template_only_file(
    variant: Variant, matrix_render: MatrixRenders
) -> None:
    project = matrix_render(variant)

    leftovers = [_relative(project, p) for p in project.rglob("*")]

    assert [p for p in leftovers if TEMPLATE_ONLY.search(p)] == []


@each_variant
def test_render_leaves_no_jinja_in_paths(variant: Variant, matrix_render: MatrixRenders) -> None:
    project = matrix_render(variant)

    paths = [_relative(project, p) for p in project.rglob("*")]

    assert [p for p in paths if JINJA.search(p)] == []


@each_variant
def test_render_leaves_no_jinja_in_contents(variant: Variant, matrix_render: MatrixRenders) -> None:
    project = matrix_render(variant)
    leftovers: list[str] = []

    for path in _files(project):
        if (text := _text(path)) is None:
            continue
        pattern = JINJA_IN_WORKFLOW if _is_workflow(project, path) else JINJA
        leftovers += [
            f"{_relative(project, path)}:{number}: {line.strip()}"
            for number, line in enumerate(text.splitlines(), start=1)
            if pattern.search(line)
        ]

    assert leftovers == []


@each_variant
def test_render_leaves_no_empty_file(variant: Variant, matrix_render: MatrixRenders) -> None:
    project = matrix_render(variant)

    empty = [
        _relative(project, p)
        for p in _files(project)
        if p.name not in EMPTY_BY_DESIGN and not p.read_bytes().strip()
    ]

    assert empty == []


def _template_github_expressions() -> set[str]:
    """The `${{ ... }}` expressions written in the template's workflow sources."""
    return {
        match.group(0)
        for path in WORKFLOW_SOURCES.rglob("*")
        if ".github" in path.as_posix() and path.is_file()
        for match in GITHUB_EXPRESSION.finditer(path.read_text(encoding="utf-8"))
    }


@pytest.mark.parametrize(
    "variant", [v for v in ALL_VARIANTS if v.answers.get("github_ci", True)], ids=lambda v: v.name
)
def test_render_keeps_github_expressions_in_workflows(
    variant: Variant, matrix_render: MatrixRenders
) -> None:
    project = matrix_render(variant)
    workflows = [p for p in _files(project) if _is_workflow(project, p)]
    rendered = "\n".join(p.read_text(encoding="utf-8") for p in workflows)
    expected = _template_github_expressions()

    assert workflows, "github_ci is on, but the render has no .github/workflows"
    assert expected, "the template's workflows use no ${{ }} expression: nothing to check"
    assert sorted(e for e in expected if e not in rendered) == []
    # Every expression the render has is whole: opened and closed on its line, not empty.
    assert [
        line
        for line in rendered.splitlines()
        if line.count("${{") != len([m for m in GITHUB_EXPRESSION.findall(line) if m.strip()])
    ] == []


# -- custom events ------------------------------------------------------------------------

CUSTOM_EVENT_VARIANTS: Final = [v for v in ALL_VARIANTS if v.answers.get("custom_events")]
# The generated test module that sends events through each transport.
TRANSPORT_TESTS: Final = {
    "http": "tests/unit/test_api_http.py",
    "websocket": "tests/unit/test_api_ws.py",
}


def _union_members(events_module: Path) -> set[str]:
    """The class names in `Event = Annotated[A | B | ..., ...]` of core/events.py."""
    for node in ast.parse(events_module.read_text(encoding="utf-8")).body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["Event"]
            and isinstance(node.value, ast.Subscript)
            and isinstance(node.value.slice, ast.Tuple)
        ):
            union = node.value.slice.elts[0]
            return {n.id for n in ast.walk(union) if isinstance(n, ast.Name)}
    pytest.fail(f"no `Event = Annotated[...]` union in {events_module}")


def _events_module(project: Path) -> Path:
    (module,) = project.glob("src/*/core/events.py")
    return module


@pytest.mark.parametrize("variant", CUSTOM_EVENT_VARIANTS, ids=lambda v: v.name)
def test_custom_events_are_classes_of_the_event_union(
    variant: Variant, matrix_render: MatrixRenders
) -> None:
    module = _events_module(matrix_render(variant))
    source = module.read_text(encoding="utf-8")
    wanted = {event_class_name(t): t for t in variant.answers["custom_events"]}

    assert sorted(set(wanted) - _union_members(module)) == []
    for class_name, event_type in wanted.items():
        assert re.search(rf"^class {class_name}\(", source, re.MULTILINE), class_name
        assert f'Literal["{event_type}"]' in source, event_type


@pytest.mark.parametrize("variant", CUSTOM_EVENT_VARIANTS, ids=lambda v: v.name)
def test_custom_events_are_in_the_generated_agent_tests(
    variant: Variant, matrix_render: MatrixRenders
) -> None:
    tests = (matrix_render(variant) / "tests/unit/test_agent_loop.py").read_text(encoding="utf-8")

    missing = [
        event_class_name(t)
        for t in variant.answers["custom_events"]
        if event_class_name(t) not in tests
    ]

    assert missing == []


@pytest.mark.parametrize(
    ("variant", "transport"),
    [
        pytest.param(v, t, id=f"{v.name}-{t}")
        for v in CUSTOM_EVENT_VARIANTS
        for t in TRANSPORTS
        if t in TRANSPORT_TESTS and t in v.answers.get("transports", TRANSPORTS)
    ],
)
def test_custom_events_are_sent_through_each_chosen_transport_in_the_generated_tests(
    variant: Variant, transport: str, matrix_render: MatrixRenders
) -> None:
    """SPEC §2: each custom event is accepted by every chosen transport, with tests."""
    tests = (matrix_render(variant) / TRANSPORT_TESTS[transport]).read_text(encoding="utf-8")

    missing = [
        t
        for t in variant.answers["custom_events"]
        if f'"{t}"' not in tests and event_class_name(t) not in tests
    ]

    assert missing == []


# -- the default answers --------------------------------------------------------------------


@pytest.fixture(scope="module")
def project(matrix_render: MatrixRenders) -> Path:
    return matrix_render(DEFAULT)


def test_render_records_the_answers_for_copier_update(project: Path) -> None:
    answers = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))
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
    answers: dict[str, Any] = yaml.safe_load(
        (tmp_path / "my-agent" / ANSWERS_FILE).read_text(encoding="utf-8")
    )
    assert answers["package_name"] == "support_bot"
