"""Every validated question of copier.yml rejects bad answers and accepts good ones.

Answers go through `copier.run_copy(data=...)`, exactly as `copier copy --data`
passes them. Copier validates before it renders anything, so the failing cases
are fast; `skip_tasks=True` keeps `uv lock` out of the passing ones.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

import pytest
import yaml

from tests.helpers import load_questions, render_template

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path


class Bad(NamedTuple):
    """A bad answer, the part of Copier's message that must explain it, other answers."""

    value: object
    message: str
    context: Mapping[str, object] = MappingProxyType({})


BAD_ANSWERS: dict[str, list[Bad]] = {
    "project_name": [Bad("", "must not be empty"), Bad("   ", "must not be empty")],
    "package_name": [
        Bad("reflex-agent", "not a valid Python identifier"),
        Bad("ReflexAgent", "must be lower_snake_case"),
        Bad("class", "is a Python keyword"),
        Bad("json", "would shadow the standard-library module"),
        Bad("fastapi", "would shadow a dependency"),
        Bad("tests", "would shadow a dependency"),
    ],
    "author_email": [
        Bad("not-an-email", "name@domain.tld"),
        Bad("dev@localhost", "name@domain.tld"),
    ],
    "python_version": [Bad("3.10", "Invalid choice")],
    "transports": [Bad([], "at least one"), Bad(["smtp"], "Invalid choice")],
    "clients": [
        Bad(["slack"], "Invalid choice"),
        Bad(["playground"], "choose websocket too", {"transports": ["http"]}),
    ],
    "custom_events": [
        Bad(["order"], "at least two segments"),
        Bad(["Order.Created"], "lower-case dotted identifiers"),
        Bad(["order.created", "order.created"], "listed more than once"),
        Bad(["order.class"], "Python keyword"),
        Bad(["http.request"], "built-in event type"),
        Bad(["order.created_at", "order_created.at"], "would both become the class"),
        Bad("order.created", "must be a list"),
    ],
    "model_provider": [Bad("bedrock", "Invalid choice")],
    "agent_model": [
        Bad("anthropic:claude-sonnet-4-5", 'must start with "openai:"'),
        Bad("claude-sonnet-4-5", 'must start with "anthropic:"', {"model_provider": "anthropic"}),
        Bad("openai:", "needs a model name after the colon"),
        Bad("openai:gpt-4o-mini", "the model is `test`", {"model_provider": "test"}),
    ],
    "event_backend": [Bad("kafka", "Invalid choice")],
    "observability": [Bad("datadog", "Invalid choice")],
}

# (variant id, answers given, answers expected in .copier-answers.yml)
GOOD_ANSWERS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "derived-names",
        {"project_name": "Support Bot 2", "model_provider": "anthropic"},
        {
            "package_name": "support_bot_2",
            "agent_model": "anthropic:claude-sonnet-4-5",
        },
    ),
    (
        "unusual-but-valid",
        {
            "project_name": "Ünïcode & Co.",
            "package_name": "unicode_co",
            "author_email": "first.last+tag@mail.example.co.uk",
            "python_version": "3.13",
            "model_provider": "test",
        },
        {
            "package_name": "unicode_co",
            "author_email": "first.last+tag@mail.example.co.uk",
            "agent_model": "test",
        },
    ),
    (
        "one-transport-custom-events-redis",
        {
            "transports": ["http"],
            "custom_events": ["order.created", "invoice.paid_late"],
            "event_backend": "redis",
            "observability": "none",
            "agent_model": "openai:gpt-4.1",
        },
        {
            "transports": ["http"],
            "custom_events": ["order.created", "invoice.paid_late"],
            "event_backend": "redis",
            "agent_model": "openai:gpt-4.1",
        },
    ),
]

QUESTIONS = load_questions()


def _require_questions(names: set[str]) -> None:
    """A case about a question copier.yml does not have (renamed, or removed) fails: a skip
    would quietly stop checking the question's new name."""
    if missing := sorted(names - QUESTIONS.keys()):
        pytest.fail(f"copier.yml has no question {', '.join(missing)}: update the cases")


def _bad_cases() -> list[Any]:
    return [
        pytest.param(question, bad, id=f"{question}={bad.value!r}")
        for question, cases in BAD_ANSWERS.items()
        for bad in cases
    ]


def test_every_validated_question_has_bad_answer_cases() -> None:
    validated = {
        name
        for name, question in QUESTIONS.items()
        if "validator" in question or "choices" in question
    }
    assert validated - BAD_ANSWERS.keys() == set()


@pytest.mark.parametrize(("question", "bad"), _bad_cases())
def test_copier_rejects_bad_answer(question: str, bad: Bad, tmp_path: Path) -> None:
    _require_questions({question, *bad.context})
    dst = tmp_path / "project"

    with pytest.raises(ValueError, match=re.escape(bad.message)) as excinfo:
        render_template(dst, {**bad.context, question: bad.value}, skip_tasks=True)

    assert f"'{question}'" in str(excinfo.value)
    assert not dst.exists()


@pytest.mark.parametrize(
    ("given", "expected"), [pytest.param(g, e, id=i) for i, g, e in GOOD_ANSWERS]
)
def test_copier_accepts_good_answers(
    given: Mapping[str, Any], expected: Mapping[str, Any], tmp_path: Path
) -> None:
    _require_questions(set(given))

    project = render_template(tmp_path / "project", given, skip_tasks=True)

    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert {key: recorded.get(key) for key in expected} == expected
