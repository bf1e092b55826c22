"""`copier update` carries a project from one template release to the next.

The releases are built here, in a temporary git repository, from this working tree
(`tests/update_helpers.py`): release A is the template as it is; release B changes a
file users never edit, adds a file, changes the README next to a user's edit (a real
conflict) and far from it, adds a template Alembic revision, renames the `github_ci`
question and moves AGENTS.md, with `_migrations` for the last two.

- For each variant, a project rendered from A and committed gets a user's edits (an
  agent tool, a custom event and its prompt, a setting default, the README, AGENTS.md
  and an Alembic revision of their own) and is updated to B: B's changes arrive, the
  edits survive, the conflict is reported inline, the migrations ran, and once the
  conflicts are resolved the project passes its own lint, format, type and unit tests.
- The template's and the user's Alembic revisions coexist on a real PostgreSQL.
- A project without edits, updated from A to B, equals a fresh render of B.
- `--conflict rej` leaves the user's hunk in a .rej file.
- This repository's first release (0.1.0, tagged in a copy) updates to the working tree.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import copier
import pytest
import yaml
from packaging.version import Version

from tests.helpers import REPO_ROOT
from tests.update_helpers import (
    BATCHING_LINE,
    CONFLICT_START,
    MOVED_FROM,
    MOVED_TO,
    NEW_MODULE_TEXT,
    NEW_QUESTION,
    OLD_QUESTION,
    README_APPENDIX_B,
    RELEASE_A,
    RELEASE_B,
    TEMPLATE_REVISION,
    TEMPLATE_TABLE,
    USER_AGENTS_NOTE,
    USER_DESCRIPTION,
    USER_TABLE,
    UserEdits,
    append,
    build_template_repo,
    clean_env,
    commit_all,
    committed_answers,
    conflict_blocks,
    copy_working_tree,
    files_with_markers,
    git,
    given_answers,
    init_repo,
    keep_before_updating,
    make_user_edits,
    read_answers,
    replace_once,
    run,
    skip_if_exists_matcher,
    tree_differences,
    unmerged_paths,
    uv,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

pytestmark = pytest.mark.slow

# Besides the defaults, a small project: one transport, a custom event type of the template's
# beside the user's own, no Logfire, the offline model, and a non-default answer to the
# question release B renames (so only the migration can carry it over).
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "http-test-model": {
        "transports": ["http"],
        "custom_events": ["order.created"],
        "observability": "none",
        "model_provider": "test",
        OLD_QUESTION: False,
    },
}
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Left out of the comparison with a fresh render: not rendered by the template.
NOT_RENDERED = (".git", ".venv", "uv.lock")


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This working tree released as RELEASE_A and RELEASE_B in a new git repository."""
    return build_template_repo(tmp_path_factory.mktemp("template") / "reflex")


@pytest.fixture(scope="module")
def workspace() -> Iterator[Path]:
    """Where the projects go: under build/renders, like `render_to_run` (whose docstring
    says why), so that uv installs from the shared cache by hard links."""
    renders = REPO_ROOT / "build" / "renders"
    renders.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="update-", dir=renders))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def render_release(
    template_repo: Path, dst: Path, answers: Mapping[str, Any], release: str
) -> Path:
    """Render `release` of the template repository into `dst` (no post-copy task)."""
    copier.run_copy(
        str(template_repo),
        dst,
        data=dict(answers),
        vcs_ref=release,
        defaults=True,
        unsafe=True,
        quiet=True,
        skip_tasks=True,
    )
    return dst


def update(project: Path, *, conflict: Literal["inline", "rej"] = "inline") -> None:
    """`copier update --trust --defaults` to the newest release, as the user runs it."""
    copier.run_update(
        project, defaults=True, overwrite=True, unsafe=True, quiet=True, conflict=conflict
    )


def server_url() -> str:
    """The PostgreSQL server to migrate; skip (fail under CI) when it is down."""
    url = os.environ.get("REFLEX_TEST_DATABASE_URL", DEFAULT_DATABASE_URL)
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        reason = f"no PostgreSQL server at {host}:{port} ({exc}); set REFLEX_TEST_DATABASE_URL"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(reason)
        pytest.skip(reason)
    return url


SQL_SCRIPT = """\
import asyncio, sys
import asyncpg

async def main() -> None:
    connection = await asyncpg.connect(sys.argv[1])
    try:
        for row in await connection.fetch(sys.argv[2]):
            print(*row.values())
    finally:
        await connection.close()

asyncio.run(main())
"""


def sql(project: Path, url: str, statement: str) -> list[str]:
    """Run `statement` with the project's own asyncpg; the rows, one line each."""
    result = run(project, *uv(), "run", "--quiet", "python", "-c", SQL_SCRIPT, url, statement)
    return result.stdout.splitlines()


@contextlib.contextmanager
def scratch_database(project: Path, server: str) -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards; its URL."""
    name = f"reflex_update_{uuid.uuid4().hex[:10]}"
    sql(project, server, f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    finally:
        sql(project, server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def public_tables(project: Path, url: str) -> set[str]:
    return set(sql(project, url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))


def render_edit_and_update(
    template_repo: Path, project: Path, answers: Mapping[str, Any]
) -> UserEdits:
    """Render release A, install and commit it, make the user's edits, commit them, and
    `copier update` to release B."""
    render_release(template_repo, project, answers, RELEASE_A)
    run(project, *uv(), "sync", "--quiet")  # locks too, as the post-copy task would have
    init_repo(project, "Render the template")
    edits = make_user_edits(project)
    commit_all(project, "Our agent")
    update(project)
    return edits


# -- an edited project, updated from A to B ---------------------------------------------------
# One test per variant, each on its own project. Not split into tests sharing a fixture:
# `--dist loadgroup` cannot keep such tests on one worker under pytest 9.2 (pytest-xdist
# issue #1386), and a second worker would repeat the whole render, install and update.


@pytest.mark.parametrize("variant", VARIANTS)
def test_edited_project_updates_from_a_to_b(
    variant: str, template_repo: Path, workspace: Path, default_answers: Mapping[str, Any]
) -> None:
    project = workspace / f"edited-{variant}" / "project"
    edits = render_edit_and_update(template_repo, project, {**default_answers, **VARIANTS[variant]})
    answers_before = committed_answers(project)
    answers_after = read_answers(project)
    package = answers_after["package_name"]
    src = project / "src" / package
    readme = (project / "README.md").read_text(encoding="utf-8")

    # Release B's changes arrived: a file the user never touched, a new file, a new
    # template migration, and a README change far from the user's edit (merged cleanly).
    assert answers_after["_commit"] == RELEASE_B
    assert BATCHING_LINE in (src / "infra" / "batching.py").read_text(encoding="utf-8")
    assert (src / "infra" / "release.py").read_text(encoding="utf-8") == NEW_MODULE_TEXT
    assert (project / "migrations" / "versions" / f"{TEMPLATE_REVISION}.py").is_file()
    assert readme.rstrip().endswith(README_APPENDIX_B.rstrip()), "B's README appendix is missing"

    # The user's edits survived: files B does not change are exactly as the user committed
    # them (their tool, event, prompt, setting and migration).
    for name in edits.kept_files:
        committed = git(project, "show", f"HEAD:{name}")
        assert (project / name).read_text(encoding="utf-8") == committed, f"{name} changed"

    # The real conflict: copier merged README.md in place, marked the conflicting lines,
    # and recorded the file as unmerged in git's index; no .rej files.
    assert "README.md" in unmerged_paths(project)
    assert sorted(project.rglob("*.rej")) == []
    blocks = conflict_blocks(readme)
    assert len(blocks) == 1, f"expected one conflict in README.md:\n{readme[:3000]}"
    description = answers_before["description"]
    assert blocks[0] == (
        f"{USER_DESCRIPTION}\n",
        f"{description}, now upgradable with `copier update`.\n",
    )

    # The migrations ran: the renamed question kept its answer, the moved file kept the
    # user's edit (AGENTS.md -> docs/AGENTS.md) and nothing is left at the old place.
    assert OLD_QUESTION not in answers_after
    assert answers_after[NEW_QUESTION] == answers_before[OLD_QUESTION]
    assert (project / ".github").is_dir() == answers_before[OLD_QUESTION]
    assert not (project / MOVED_FROM).exists()
    assert USER_AGENTS_NOTE.strip() in (project / MOVED_TO).read_text(encoding="utf-8")

    # Resolve as docs/upgrading.md says (keep the user's side here), then the project's
    # own checks pass with its own environment and lock file.
    for name in unmerged_paths(project):
        keep_before_updating(project / name)
        git(project, "add", "--", name)
    assert files_with_markers(project) == []
    run(project, *uv(), "sync", "--quiet", "--locked")
    for tool in (
        ("ruff", "check", "."),
        ("ruff", "format", "--check", "."),
        ("mypy",),
        ("pytest", "-q", "-p", "no:cacheprovider", "-m", "not integration"),
    ):
        run(project, *uv(), "run", "--locked", *tool)


# -- Alembic: the template's revisions and the user's ------------------------------------------


def test_template_and_user_migrations_coexist(
    template_repo: Path, workspace: Path, default_answers: Mapping[str, Any]
) -> None:
    """After B adds a template revision on top of A's head, and the user has added one
    there too, there are two heads: `alembic upgrade heads` applies both; `alembic merge
    heads` is the alternative for a user who wants one head again."""
    server = server_url()
    project = workspace / "alembic" / "project"
    edits = render_edit_and_update(
        template_repo, project, {**default_answers, **VARIANTS["http-test-model"]}
    )
    for name in unmerged_paths(project):
        keep_before_updating(project / name)
        git(project, "add", "--", name)

    heads = run(project, *uv(), "run", "alembic", "heads").stdout
    assert TEMPLATE_REVISION in heads
    assert edits.revision in heads
    with scratch_database(project, server) as url:
        env = clean_env(DATABASE_URL=url)
        single = run(project, *uv(), "run", "alembic", "upgrade", "head", env=env, check=False)
        assert single.returncode != 0
        assert "Multiple head revisions" in single.stderr

        run(project, *uv(), "run", "alembic", "upgrade", "heads", env=env)

        assert {"events", TEMPLATE_TABLE, USER_TABLE} <= public_tables(project, url)
        current = run(project, *uv(), "run", "alembic", "current", env=env).stdout
        assert TEMPLATE_REVISION in current
        assert edits.revision in current

    # The project's own `migrate` command (`make migrate`) must apply every head too.
    package = read_answers(project)["package_name"]
    with scratch_database(project, server) as url:
        env = clean_env(DATABASE_URL=url)
        migrate = run(
            project, *uv(), "run", "python", "-m", package, "migrate", env=env, check=False
        )
        assert migrate.returncode == 0, migrate.stderr[-4000:]
        assert {TEMPLATE_TABLE, USER_TABLE} <= public_tables(project, url)

    # The alternative: merge the heads into one, after which `upgrade head` works again.
    run(project, *uv(), "run", "alembic", "merge", "heads", "-m", "merge template")
    merged = run(project, *uv(), "run", "alembic", "heads").stdout.strip().splitlines()
    assert len(merged) == 1, merged
    with scratch_database(project, server) as url:
        run(project, *uv(), "run", "alembic", "upgrade", "head", env=clean_env(DATABASE_URL=url))
        assert {TEMPLATE_TABLE, USER_TABLE} <= public_tables(project, url)


# -- projects without edits -------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_update_without_edits_equals_a_fresh_render(
    variant: str, template_repo: Path, workspace: Path, default_answers: Mapping[str, Any]
) -> None:
    answers = {**default_answers, **VARIANTS[variant]}
    project = render_release(
        template_repo, workspace / f"unedited-{variant}" / "project", answers, RELEASE_A
    )
    init_repo(project, "Render the template")

    update(project)

    assert unmerged_paths(project) == []
    assert files_with_markers(project) == []
    # The same answers, under the question's new name: what a user answers on B.
    answers_b = {
        NEW_QUESTION if key == OLD_QUESTION else key: value for key, value in answers.items()
    }
    fresh = render_release(
        template_repo, workspace / f"fresh-{variant}" / "project", answers_b, RELEASE_B
    )
    assert tree_differences(project, fresh, ignore=NOT_RENDERED) == []


def test_conflict_rej_mode_leaves_the_users_hunk_in_a_reject_file(
    template_repo: Path, workspace: Path, default_answers: Mapping[str, Any]
) -> None:
    """`copier update --conflict rej`: the file takes the template's new version, and the
    user's change that no longer applies is left in README.md.rej, to re-apply by hand."""
    project = render_release(
        template_repo, workspace / "rej" / "project", default_answers, RELEASE_A
    )
    init_repo(project, "Render the template")
    readme = project / "README.md"
    description = read_answers(project)["description"]
    readme.write_text(
        readme.read_text(encoding="utf-8").replace(f"\n{description}\n", f"\n{USER_DESCRIPTION}\n"),
        encoding="utf-8",
    )
    commit_all(project, "Our README")

    update(project, conflict="rej")

    text = readme.read_text(encoding="utf-8")
    assert CONFLICT_START not in text
    assert f"\n{description}, now upgradable with `copier update`.\n" in text
    assert USER_DESCRIPTION not in text
    reject = (project / "README.md.rej").read_text(encoding="utf-8")
    assert f"\n-{description}\n+{USER_DESCRIPTION}\n" in reject
    assert unmerged_paths(project) == []  # nothing in git's index says so: look for *.rej


# -- this repository's own releases ------------------------------------------------------------

FIRST_RELEASE = "0.1.0"
FIRST_RELEASE_HEADING = f"## [{FIRST_RELEASE}]"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def release_commit(repo: Path, heading: str) -> str | None:
    """The commit of `repo` that added `heading` to CHANGELOG.md: the release itself (the
    repository has no tags). None when the clone's history does not reach back to it."""
    found = git(repo, "log", "--format=%H", "-S", heading, "--", "CHANGELOG.md").split()
    return found[-1] if found else None


def upcoming_release(repo: Path, first: str) -> str:
    """The version HEAD is released as: the newest `_migrations` version of copier.yml, or
    the minor release after `first`, so that every migration runs as it would for users."""
    config = yaml.safe_load((repo / "copier.yml").read_text(encoding="utf-8"))
    versions = [Version(str(entry["version"]).lstrip("v")) for entry in config["_migrations"]]
    after_first = Version(first)
    return str(max([*versions, Version(f"{after_first.major}.{after_first.minor + 1}.0")]))


def releases_repo(repo: Path, folder: Path, release: str, commit: str) -> Path:
    """A new git repository in `folder`: `commit` of `repo` tagged `v<release>`, then the
    working tree of `repo` (uncommitted changes too, like every template test) as HEAD,
    tagged as the upcoming release."""
    folder.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", commit], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    init_repo(folder, release)
    git(folder, "tag", f"v{release}")
    for path in folder.iterdir():
        if path.name != ".git":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    copy_working_tree(folder, repo)
    commit_all(folder, "HEAD")
    git(folder, "tag", f"v{upcoming_release(folder, release)}")
    return folder


def test_update_from_the_first_release_to_head(workspace: Path) -> None:
    """A project rendered from release 0.1.0 (the commit that added its CHANGELOG section,
    tagged in a copy of this repository) updates cleanly to the working tree: the result
    equals a fresh render of HEAD with the same answers, apart from the files the template
    protects with `_skip_if_exists`."""
    commit = release_commit(REPO_ROOT, FIRST_RELEASE_HEADING)
    if commit is None:
        reason = f"this clone's history does not reach back to {FIRST_RELEASE}"
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    repo = releases_repo(REPO_ROOT, workspace / "first-release" / "template", FIRST_RELEASE, commit)
    project = workspace / "first-release" / "project"
    copier.run_copy(
        str(repo),
        project,
        vcs_ref=f"v{FIRST_RELEASE}",
        defaults=True,
        unsafe=True,
        quiet=True,
        skip_tasks=True,
    )
    init_repo(project, f"Render {FIRST_RELEASE}")
    assert read_answers(project)["_commit"] == f"v{FIRST_RELEASE}"

    copier.run_update(
        project,
        vcs_ref="HEAD",
        defaults=True,
        overwrite=True,
        unsafe=True,
        quiet=True,
        skip_tasks=True,
        conflict="inline",
    )

    assert read_answers(project)["_commit"] == f"v{upcoming_release(repo, FIRST_RELEASE)}"
    assert unmerged_paths(project) == []
    assert files_with_markers(project) == []
    answers = given_answers(project)
    fresh = workspace / "first-release" / "fresh"
    copier.run_copy(
        str(repo),
        fresh,
        data=answers,
        vcs_ref="HEAD",
        defaults=True,
        unsafe=True,
        quiet=True,
        skip_tasks=True,
    )
    protected = skip_if_exists_matcher(repo, answers)
    assert tree_differences(project, fresh, ignore=NOT_RENDERED, skip=protected) == []


# -- 0.2.0: the machinery moves out of agent/ ----------------------------------------------

OLD_LOOP = "template/src/{{ package_name }}/agent/loop.py.jinja"


def before_the_move(repo: Path) -> str | None:
    """The last commit of `repo` whose template still had `agent/loop.py` (the layout of
    0.1.x), or None when the clone's history does not reach back that far."""
    last = git(repo, "log", "-1", "--format=%H", "--", OLD_LOOP).strip()
    if not last:
        return None
    parent = git(repo, "rev-parse", "--verify", "--quiet", f"{last}^").strip()
    return parent or None


def test_update_across_the_move_keeps_the_users_agent_and_edits(workspace: Path) -> None:
    """A 0.1.x project whose user added a tool (agent/agents.py, which stays) and changed a
    prompt (agent/loop.py, which moves): after the update the tool is there, the new layout
    is in place, the old files are gone, and the edited one is kept as `loop.py.orig`
    (`hooks/keep_moved_files.py`, a `_migrations` entry of copier.yml)."""
    commit = before_the_move(REPO_ROOT)
    if commit is None:
        pytest.skip("this clone's history does not reach back to the layout of 0.1.x")
    repo = workspace / "move" / "template"
    repo.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", commit], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(repo)], input=archive, check=True)
    init_repo(repo, "0.1.x")
    git(repo, "tag", "v0.1.1")
    for path in repo.iterdir():
        if path.name != ".git":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    copy_working_tree(repo)
    commit_all(repo, "0.2.0")
    git(repo, "tag", "v0.2.0")
    project = render_release(repo, workspace / "move" / "project", {}, "v0.1.1")
    init_repo(project, "Render 0.1.1")
    agent = project / "src" / "reflex_agent" / "agent"
    replace_once(
        agent / "agents.py", "Tool(schedule_follow_up)", "Tool(schedule_follow_up), Tool(my_tool)"
    )
    append(
        agent / "agents.py",
        "async def my_tool(ctx: RunContext[AgentDeps]) -> str:\n    return 'mine'\n",
    )
    replace_once(agent / "loop.py", "Follow-up you scheduled earlier:", "Your own follow-up:")
    commit_all(project, "My agent")

    copier.run_update(
        project,
        vcs_ref="v0.2.0",
        defaults=True,
        overwrite=True,
        unsafe=True,
        quiet=True,
        skip_tasks=True,
        conflict="inline",
    )

    assert "Tool(my_tool)" in (agent / "agents.py").read_text(encoding="utf-8")
    assert (agent / "prompts.py").is_file()
    assert not (agent / "loop.py").exists()
    assert not (agent / "runtime.py").exists()
    assert (project / "src" / "reflex_agent" / "worker" / "loop.py").is_file()
    kept = agent / "loop.py.orig"
    assert "Your own follow-up:" in kept.read_text(encoding="utf-8")
    assert sorted(p.name for p in agent.parent.rglob("*.orig")) == ["loop.py.orig"]
