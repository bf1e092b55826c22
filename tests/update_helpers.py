"""Building template releases and user projects for the `copier update` tests.

The update tests never depend on the tags of this checkout: `build_template_repo`
copies the working tree into a new git repository and releases it there as
`RELEASE_A`, then makes the changes listed below and releases them as `RELEASE_B`.
`make_user_edits` edits a rendered project the way a user would.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jinja2
import pathspec
import pytest
import yaml
from packaging.version import Version
from pathspec import PathSpec

from tests.helpers import REPO_ROOT

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

RELEASE_A = "v0.1.0"
RELEASE_B = "v0.2.0"
GIT = (
    "git",
    "-c",
    "user.name=Reflex Tests",
    "-c",
    "user.email=tests@example.com",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "tag.gpgsign=false",
    "-c",
    "init.defaultBranch=main",
)
# One command may install or type-check a whole project; never hang the suite on it.
COMMAND_TIMEOUT_SECONDS = 1800
# Variables of the test session that must not leak into a generated project's tools.
LEAKING_VARIABLES = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
LEAKING_PREFIXES = ("PYTEST_",)
# Never copied into the temporary template repository (besides what .gitignore ignores).
NOT_COPIED = ("build", ".venv", ".git")

# -- release B: what the template changes --------------------------------------------------
OLD_QUESTION, NEW_QUESTION = "github_ci", "ci_github"
BATCHING = "template/src/{{ package_name }}/infra/batching.py"
BATCHING_LINE = "Release B: batches are flushed in arrival order."
NEW_MODULE = "template/src/{{ package_name }}/infra/release.py"
NEW_MODULE_TEXT = (
    '"""Added by release B."""\n\nfrom __future__ import annotations\n\nRELEASE = "B"\n'
)
README = "template/README.md.jinja"
README_DESCRIPTION = "{{ description }}"
README_DESCRIPTION_B = "{{ description }}, now upgradable with `copier update`."
README_APPENDIX_B = "## Upgrading\n\nPull template changes with `copier update --trust`.\n"
MOVED_FROM, MOVED_TO = "AGENTS.md", "docs/AGENTS.md"
TEMPLATE_TABLE = "template_notes"
TEMPLATE_REVISION = "0002_template_notes"
# Rewrites `old:` to `new:` in the answers file: argv = answers file, old name, new name.
RENAME_ANSWER = (
    "import pathlib, re, sys; p = pathlib.Path(sys.argv[1]); "
    "p.write_text(re.sub('^' + re.escape(sys.argv[2]) + ':', sys.argv[3] + ':', "
    "p.read_text(), flags=re.M))"
)

# -- the user's edits ----------------------------------------------------------------------
USER_DESCRIPTION = "Our support desk's agent: it answers customers around the clock."
USER_TOOL = "word_count"
USER_EVENT = "RefundRequestedEvent"
USER_PORT = 8088
USER_AGENTS_NOTE = "## Our team's conventions\n\nEvery tool gets a unit test.\n"
USER_TABLE = "user_notes"

CONFLICT_START = "<<<<<<< before updating"
CONFLICT_END = ">>>>>>> after updating"


# -- running commands ----------------------------------------------------------------------


def clean_env(**overrides: str) -> dict[str, str]:
    """This process's environment without the test session's virtualenv and pytest state.

    `UV_CACHE_DIR` stays: the session fixture points it at the suite's shared cache.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in LEAKING_VARIABLES and not key.startswith(LEAKING_PREFIXES)
    }
    return {**env, **overrides}


def run(
    cwd: Path, *command: str | Path, env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run `command` in `cwd`; with `check`, fail the test with its output if it fails."""
    shown = " ".join(str(part) for part in command)
    try:
        result = subprocess.run(
            [str(part) for part in command],
            cwd=cwd,
            env=dict(env) if env is not None else clean_env(),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`{shown}` took over {exc.timeout:.0f}s in {cwd}")
    if check and result.returncode != 0:
        pytest.fail(
            f"`{shown}` exited {result.returncode} in {cwd}\n"
            f"--- stdout ---\n{result.stdout[-8000:]}\n--- stderr ---\n{result.stderr[-8000:]}"
        )
    return result


def uv() -> tuple[str, ...]:
    """How to call uv: from PATH, else as a module of the Python running the tests."""
    found = shutil.which("uv")
    return (found,) if found else (sys.executable, "-m", "uv")


def git(cwd: Path, *arguments: str) -> str:
    return run(cwd, *GIT, *arguments).stdout


def commit_all(cwd: Path, message: str) -> None:
    """`git add --all` and commit: a repository that is clean afterwards."""
    git(cwd, "add", "--all")
    git(cwd, "commit", "--quiet", "--allow-empty", "-m", message)
    assert git(cwd, "status", "--porcelain") == "", f"{cwd} is not clean after committing"


def init_repo(cwd: Path, message: str) -> None:
    git(cwd, "init", "--quiet")
    commit_all(cwd, message)


# -- editing files -------------------------------------------------------------------------


def replace_once(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of `old` in `path`; fail clearly when it is not there."""
    text = path.read_text(encoding="utf-8")
    count = text.count(old)
    assert count == 1, f"expected {old!r} once in {path}, found it {count} times"
    path.write_text(text.replace(old, new), encoding="utf-8")


def append(path: Path, text: str) -> None:
    current = path.read_text(encoding="utf-8")
    path.write_text(f"{current.rstrip()}\n\n{text}", encoding="utf-8")


# -- the template repository -----------------------------------------------------------------


def copy_working_tree(dst: Path, src: Path = REPO_ROOT) -> None:
    """Copy what a commit of `src` would hold now: tracked and untracked, not ignored."""
    listed = git(src, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in sorted(set(filter(None, listed.split("\0")))):
        source = src / name
        if name.split("/", 1)[0] in NOT_COPIED or not source.is_file():
            continue  # deleted in the working tree, or build output
        target = dst / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def rename_question(repo: Path, old: str, new: str) -> None:
    """Rename a question in copier.yml and everywhere in template/: names and contents."""
    questions = yaml.safe_load((repo / "copier.yml").read_text(encoding="utf-8"))
    assert old in questions, f"copier.yml has no question {old!r} to rename"
    word = re.compile(rf"\b{re.escape(old)}\b")
    files = [repo / "copier.yml", *(p for p in (repo / "template").rglob("*") if p.is_file())]
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if word.search(text):
            path.write_text(word.sub(new, text), encoding="utf-8")
    # Deepest paths first, so that renaming a folder never moves a path still to rename.
    for path in sorted((repo / "template").rglob("*"), key=lambda p: -len(p.parts)):
        if word.search(path.name):
            path.rename(path.with_name(word.sub(new, path.name)))


def add_migrations(repo: Path, migrations: Sequence[Mapping[str, Any]]) -> None:
    """Append entries to copier.yml's `_migrations` (creating the setting if needed)."""
    path = repo / "copier.yml"
    config: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["_migrations"] = [*(config.get("_migrations") or []), *migrations]
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")


def alembic_revisions(versions: Path) -> dict[str, str | None]:
    """revision id -> down_revision of every migration file in `versions` (one parent)."""
    revisions: dict[str, str | None] = {}
    for path in versions.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revision = re.search(r"^revision[^=]*=\s*['\"]([^'\"]+)['\"]", text, re.M)
        down = re.search(r"^down_revision[^=]*=\s*(?:['\"]([^'\"]+)['\"]|None)", text, re.M)
        assert revision, f"no `revision = ...` in {path}"
        assert down, f"no `down_revision = ...` in {path}"
        revisions[revision[1]] = down[1]
    return revisions


def alembic_head(versions: Path) -> str:
    revisions = alembic_revisions(versions)
    heads = set(revisions) - set(revisions.values())
    assert len(heads) == 1, f"the template's migrations must have one head, not {heads}"
    return heads.pop()


def template_revision(down_revision: str) -> str:
    return f'''"""A table added by release B.

Revision ID: {TEMPLATE_REVISION}
Revises: {down_revision}
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "{TEMPLATE_REVISION}"
down_revision: str | Sequence[str] | None = "{down_revision}"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "{TEMPLATE_TABLE}",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_{TEMPLATE_TABLE}")),
    )


def downgrade() -> None:
    op.drop_table("{TEMPLATE_TABLE}")
'''


def make_release_b(repo: Path) -> None:
    """The template changes of release B, each one a kind a real release makes."""
    template = repo / "template"
    # A file no user edits, and a new file.
    replace_once(
        repo / BATCHING, '"""\n\nfrom __future__', f'\n{BATCHING_LINE}\n"""\n\nfrom __future__'
    )
    (repo / NEW_MODULE).write_text(NEW_MODULE_TEXT, encoding="utf-8")
    # A file users edit: one line near their edit (a conflict), one far from it (no conflict).
    replace_once(repo / README, f"\n{README_DESCRIPTION}\n", f"\n{README_DESCRIPTION_B}\n")
    append(repo / README, README_APPENDIX_B)
    # A new template migration on top of the template's own chain.
    versions = template / "migrations" / "versions"
    head = alembic_head(versions)
    (versions / f"{TEMPLATE_REVISION}.py").write_text(template_revision(head), encoding="utf-8")
    # A renamed question and a moved file, each with a migration for existing projects.
    rename_question(repo, OLD_QUESTION, NEW_QUESTION)
    source = template / f"{MOVED_FROM}.jinja"
    target = template / f"{MOVED_TO}.jinja"
    target.parent.mkdir(parents=True, exist_ok=True)
    source.rename(target)
    folder = MOVED_TO.rsplit("/", 1)[0]
    add_migrations(
        repo,
        [
            {
                "version": RELEASE_B,
                "when": "{{ _stage == 'before' }}",
                "command": [
                    "{{ _copier_python }}",
                    "-c",
                    RENAME_ANSWER,
                    "{{ _copier_conf.answers_file }}",
                    OLD_QUESTION,
                    NEW_QUESTION,
                ],
            },
            {
                "version": RELEASE_B,
                "when": "{{ _stage == 'before' }}",
                "command": (
                    f"test ! -e {MOVED_FROM} || "
                    f"{{ mkdir -p {folder} && git mv {MOVED_FROM} {MOVED_TO}; }}"
                ),
            },
        ],
    )


def build_template_repo(repo: Path) -> Path:
    """The working tree released as RELEASE_A, then release B's changes as RELEASE_B."""
    copy_working_tree(repo)
    init_repo(repo, "Release A")
    git(repo, "tag", RELEASE_A)
    make_release_b(repo)
    commit_all(repo, "Release B")
    git(repo, "tag", RELEASE_B)
    return repo


# -- the user's project --------------------------------------------------------------------


@dataclass(frozen=True)
class UserEdits:
    """What `make_user_edits` changed, to look for after the update."""

    kept_files: tuple[str, ...]
    """Edited files release B does not change: the update must leave them as they are."""
    revision: str
    """The id of the user's own Alembic revision."""


def make_user_edits(project: Path) -> UserEdits:
    """Edit `project` as its user would: a tool, an event, a setting, the README, AGENTS.md,
    and a migration of their own (`alembic revision`).

    The edited Python files are then import-sorted and formatted, as `make format` would.
    """
    answers = read_answers(project)
    package = answers["package_name"]
    src = project / "src" / package
    agents = src / "agent" / "agents.py"
    replace_once(agents, "Tool(schedule_follow_up", f"Tool({USER_TOOL}), Tool(schedule_follow_up")
    append(
        agents,
        f"async def {USER_TOOL}(ctx: RunContext[AgentDeps], text: str) -> int:\n"
        '    """How many words `text` has.\n\n'
        "    Args:\n"
        "        text: the text to count.\n"
        '    """\n'
        "    return len(text.split())\n",
    )
    events = src / "core" / "events.py"
    replace_once(
        events,
        "\n\nclass FollowUpEvent(BaseEvent):",
        f"\n\nclass {USER_EVENT}(BaseEvent):\n"
        '    """A customer asked for a refund."""\n\n'
        '    type: Literal["refund.requested"] = "refund.requested"\n'
        "    order_id: int = Field(ge=1)\n"
        "\n\nclass FollowUpEvent(BaseEvent):",
    )
    replace_once(
        events,
        "    | LifecycleEvent,  # lifecycle.started, lifecycle.stopped\n",
        "    | LifecycleEvent  # lifecycle.started, lifecycle.stopped\n"
        f"    | {USER_EVENT},  # refund.requested\n",
    )
    prompts = src / "agent" / "prompts.py"
    replace_once(
        prompts,
        "        case FollowUpEvent():",
        f"        case {USER_EVENT}():\n"
        '            return f"Refund requested for order {event.order_id}."\n'
        "        case FollowUpEvent():",
    )
    replace_once(
        prompts,
        f"from {package}.core.events import (\n",
        f"from {package}.core.events import (\n    {USER_EVENT},\n",
    )
    replace_once(src / "config.py", "Field(default=8000,", f"Field(default={USER_PORT},")
    # A changed default is documented too: the project's tests hold the table to Settings.
    port_row = "| `PORT` | No | `{}` |"
    replace_once(project / "README.md", port_row.format(8000), port_row.format(USER_PORT))
    description = answers["description"]
    replace_once(project / "README.md", f"\n{description}\n", f"\n{USER_DESCRIPTION}\n")
    append(project / MOVED_FROM, USER_AGENTS_NOTE)
    revision = add_user_revision(project)
    (migration,) = (project / "migrations" / "versions").glob(f"*{revision}*.py")
    python_files = [agents, events, prompts, src / "config.py", migration]
    run(project, *uv(), "run", "ruff", "check", "--quiet", "--fix", *python_files)
    run(project, *uv(), "run", "ruff", "format", "--quiet", *python_files)
    return UserEdits(
        kept_files=tuple(str(path.relative_to(project)) for path in python_files),
        revision=revision,
    )


def add_user_revision(project: Path) -> str:
    """`alembic revision -m "user table"`, filled in to create USER_TABLE; its id."""
    versions = project / "migrations" / "versions"
    before = set(versions.glob("*.py"))
    run(project, *uv(), "run", "alembic", "revision", "-m", "user table")
    (path,) = set(versions.glob("*.py")) - before
    text = path.read_text(encoding="utf-8")
    upgrade = (
        "def upgrade() -> None:\n"
        "    op.create_table(\n"
        f'        "{USER_TABLE}",\n'
        '        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),\n'
        '        sa.Column("body", sa.Text(), nullable=False),\n'
        f'        sa.PrimaryKeyConstraint("id", name=op.f("pk_{USER_TABLE}")),\n'
        "    )\n"
    )
    downgrade = f'def downgrade() -> None:\n    op.drop_table("{USER_TABLE}")\n'
    text = re.sub(r"def upgrade\(\) -> None:\n    pass\n", upgrade, text)
    text = re.sub(r"def downgrade\(\) -> None:\n    pass\n", downgrade, text)
    assert USER_TABLE in text, f"unexpected `alembic revision` output:\n{text}"
    path.write_text(text, encoding="utf-8")
    revisions = alembic_revisions(versions)
    (revision,) = set(revisions) - set(revisions.values())
    return revision


# -- after the update ----------------------------------------------------------------------


def unmerged_paths(project: Path) -> list[str]:
    """Files git records as conflicted (copier's inline conflicts are recorded so)."""
    return sorted(set(git(project, "diff", "--name-only", "--diff-filter=U").split()))


def conflict_blocks(text: str) -> list[tuple[str, str]]:
    """(before updating, after updating) sides of each inline conflict in `text`."""
    pattern = re.compile(
        rf"^{re.escape(CONFLICT_START)}\n(.*?)^(?:\|{{7}}[^\n]*\n.*?)?^=======\n(.*?)^"
        rf"{re.escape(CONFLICT_END)}\n",
        re.M | re.S,
    )
    return [(match[1], match[2]) for match in pattern.finditer(text)]


def keep_before_updating(path: Path) -> None:
    """Resolve every inline conflict in `path` by keeping the project's side."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept: list[str] = []
    side = None
    for line in lines:
        stripped = line.rstrip("\n")
        if stripped == CONFLICT_START:
            side = "ours"
        elif side is not None and stripped.startswith("|||||||"):
            side = "base"
        elif side is not None and stripped == "=======":
            side = "theirs"
        elif side is not None and stripped == CONFLICT_END:
            side = None
        elif side in (None, "ours"):
            kept.append(line)
    path.write_text("".join(kept), encoding="utf-8")


def files_with_markers(project: Path) -> list[str]:
    found = []
    for path in project.rglob("*"):
        if ".git" in path.parts or ".venv" in path.parts or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if CONFLICT_START in text or CONFLICT_END in text:
            found.append(str(path.relative_to(project)))
    return sorted(found)


def read_answers(project: Path) -> dict[str, Any]:
    answers: dict[str, Any] = yaml.safe_load(
        (project / ".copier-answers.yml").read_text(encoding="utf-8")
    )
    return answers


def committed_answers(project: Path) -> dict[str, Any]:
    """The answers file as last committed: before an update that has not been committed."""
    answers: dict[str, Any] = yaml.safe_load(git(project, "show", "HEAD:.copier-answers.yml"))
    return answers


def given_answers(project: Path) -> dict[str, Any]:
    """The answers to the questions (not Copier's own `_` entries) of `project`."""
    return {key: value for key, value in read_answers(project).items() if not key.startswith("_")}


def skip_if_exists_matcher(
    template_repo: Path, answers: Mapping[str, Any]
) -> Callable[[str], bool]:
    """The template's `_skip_if_exists` patterns, rendered with `answers`, as Copier matches."""
    config = yaml.safe_load((template_repo / "copier.yml").read_text(encoding="utf-8"))
    environment = jinja2.Environment(autoescape=False)  # noqa: S701 (paths, not HTML)
    patterns = [
        environment.from_string(pattern).render(**answers)
        for pattern in config.get("_skip_if_exists") or []
    ]
    # The pattern style Copier uses (pathspec renamed it in 1.0).
    style = "gitignore" if Version(pathspec.__version__) >= Version("1.0.0") else "gitwildmatch"
    return PathSpec.from_lines(style, patterns).match_file


def tree_differences(
    updated: Path, fresh: Path, *, ignore: Sequence[str], skip: Callable[[str], bool] | None = None
) -> list[str]:
    """What `diff -r updated fresh` reports, as lines: paths in one tree only, and the
    unified diff of files that differ. Paths with a part in `ignore`, and paths `skip`
    matches, are left out; so is the answers file's `_commit` line."""

    def listing(root: Path) -> dict[str, Path]:
        return {
            path.relative_to(root).as_posix(): path
            for path in root.rglob("*")
            if not set(path.relative_to(root).parts) & set(ignore)
        }

    def contents(name: str, path: Path) -> list[str]:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        if name == ".copier-answers.yml":
            lines = [line for line in lines if not line.startswith("_commit:")]
        return lines

    left, right = listing(updated), listing(fresh)
    differences: list[str] = []
    for name in sorted(left.keys() | right.keys()):
        if skip is not None and skip(name):
            continue
        if name not in right:
            differences.append(f"only in the updated project: {name}")
        elif name not in left:
            differences.append(f"only in the fresh render: {name}")
        elif left[name].is_dir() != right[name].is_dir():
            differences.append(f"a folder in one tree, a file in the other: {name}")
        elif left[name].is_file() and left[name].read_bytes() != right[name].read_bytes():
            diff = list(
                difflib.unified_diff(
                    contents(name, left[name]),
                    contents(name, right[name]),
                    f"updated/{name}",
                    f"fresh/{name}",
                )
            )
            if diff:
                differences.append("".join(diff[:60]))
    return differences
