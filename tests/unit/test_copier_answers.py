"""Every validated question of copier.yml rejects bad answers and accepts good ones.

Answers go through `copier.run_copy(data=...)`, exactly as `copier copy --data`
passes them. Copier validates before it renders anything, so the failing cases
are fast; `skip_tasks=True` keeps `uv lock` out of the passing ones.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tests.helpers import load_questions, render_template

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

# question -> (bad answer, part of the message Copier must show)
BAD_ANSWERS: dict[str, list[tuple[object, str]]] = {
    "project_name": [("", "must not be empty"), ("   ", "must not be empty")],
    "package_name": [
        ("reflex-agent", "not a valid Python identifier"),
        ("ReflexAgent", "must be lower_snake_case"),
        ("class", "is a Python keyword"),
        ("json", "would shadow the standard-library module"),
        ("fastapi", "would shadow a dependency"),
        ("tests", "would shadow a dependency"),
    ],
    "author_email": [("not-an-email", "name@domain.tld"), ("dev@localhost", "name@domain.tld")],
    "python_version": [("3.10", "Invalid choice")],
    "transports": [([], "at least one"), (["smtp"], "Invalid choice")],
    "custom_events": [
        (["order"], "at least two segments"),
        (["Order.Created"], "lower-case dotted identifiers"),
        (["order.created", "order.created"], "listed more than once"),
        (["order.class"], "Python keyword"),
        (["http.request"], "built-in event type"),
        (["order.created_at", "order_created.at"], "would both become the class"),
    ],
    "model_provider": [("bedrock", "Invalid choice")],
    "event_backend": [("kafka", "Invalid choice")],
    "observability": [("datadog", "Invalid choice")],
}

# (variant id, answers given, answers expected in .copier-answers.yml)
GOOD_ANSWERS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "derived-package-name",
        {"project_name": "Support Bot 2"},
        {"project_name": "Support Bot 2", "package_name": "support_bot_2"},
    ),
    (
        "unusual-but-valid",
        {
            "project_name": "Ünïcode & Co.",
            "package_name": "unicode_co",
            "author_email": "first.last+tag@mail.example.co.uk",
            "python_version": "3.13",
        },
        {"package_name": "unicode_co", "author_email": "first.last+tag@mail.example.co.uk"},
    ),
    (
        "custom-events",
        {"transports": ["http"], "custom_events": ["order.created", "invoice.paid_late"]},
        {"transports": ["http"], "custom_events": ["order.created", "invoice.paid_late"]},
    ),
]

QUESTIONS = load_questions()


def _require_questions(names: set[str]) -> None:
    if missing := sorted(names - QUESTIONS.keys()):
        pytest.skip(f"copier.yml has no question {', '.join(missing)} yet")


def _bad_cases() -> list[Any]:
    return [
        pytest.param(question, value, message, id=f"{question}={value!r}")
        for question, cases in BAD_ANSWERS.items()
        for value, message in cases
    ]


def test_every_validated_question_has_bad_answer_cases() -> None:
    validated = {
        name
        for name, question in QUESTIONS.items()
        if "validator" in question or "choices" in question
    }
    assert validated - BAD_ANSWERS.keys() == set()


@pytest.mark.parametrize(("question", "value", "message"), _bad_cases())
def test_copier_rejects_bad_answer(
    question: str, value: object, message: str, tmp_path: Path
) -> None:
    _require_questions({question})
    dst = tmp_path / "project"

    with pytest.raises(ValueError, match=re.escape(message)) as excinfo:
        render_template(dst, {question: value}, skip_tasks=True)

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
