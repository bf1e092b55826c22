"""The variant matrix (tests/variants.py) covers every question and choice of copier.yml.

A question or a choice added to copier.yml without a variant that renders it fails
`test_matrix_covers_every_option`: the matrix is written out by hand on purpose. A
question with a validator and no bad-answer case fails
`test_every_validated_question_has_bad_answer_cases` in test_copier_answers.py.
"""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING, Any, Final

import pytest

from tests.helpers import load_questions
from tests.variants import (
    ALL_VARIANTS,
    FULL_VARIANTS,
    RENDER_VARIANTS,
    TRANSPORT_SUBSETS,
    Variant,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

QUESTIONS: Final = load_questions()
# Options of the full tier that the render tier alone covers, and why.
FULL_TIER_EXEMPT: Final = {
    "python_version": "make install needs that interpreter; the test machines have 3.11 only",
}
# The options the render tier spreads over its transports x provider grid.
SPREAD_OPTIONS: Final = (
    "project_name",
    "event_backend",
    "observability",
    "docker",
    "github_ci",
    "python_version",
    "custom_events",
)


def choices(question: str) -> list[Any]:
    """The values a question accepts (copier.yml maps labels to values, or lists them)."""
    given = QUESTIONS[question]["choices"]
    return list(given.values()) if isinstance(given, dict) else list(given)


def is_templated(value: object) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def effective(variant: Variant, question: str) -> Any:  # noqa: ANN401 (any answer's type)
    """The variant's answer, else copier.yml's literal default (None when derived)."""
    if question in variant.answers:
        return variant.answers[question]
    default = QUESTIONS[question].get("default")
    return None if is_templated(default) else default


def kind(question: str) -> str:
    spec = QUESTIONS[question]
    if "choices" in spec:
        return "multiselect" if spec.get("multiselect") else "choice"
    if spec.get("type") == "bool":
        return "bool"
    if spec.get("type") == "yaml":
        return "list"
    return "text"


def coverage_gaps(question: str, variants: Iterable[Variant]) -> list[str]:
    """What of `question` no variant of `variants` renders (empty when covered)."""
    answers = [effective(v, question) for v in variants]
    match kind(question):
        case "choice":
            return [f"{question}={c!r}" for c in choices(question) if c not in answers]
        case "multiselect":
            chosen = {c for a in answers for c in a or []}
            return [f"{question} with {c!r}" for c in choices(question) if c not in chosen]
        case "bool":
            return [f"{question}={b}" for b in (True, False) if b not in answers]
        case "list":
            gaps = [] if [] in answers else [f"{question} empty"]
            if not any(len(a or []) >= 2 for a in answers):
                gaps.append(f"{question} with two items or more")
            return gaps
        case _:
            default = QUESTIONS[question].get("default")
            explicit = [
                v.answers[question]
                for v in variants
                if question in v.answers and v.answers[question] != default
            ]
            return [] if explicit else [f"{question} answered with a value of its own"]


def test_matrix_covers_every_option() -> None:
    gaps = [gap for question in QUESTIONS for gap in coverage_gaps(question, ALL_VARIANTS)]

    assert gaps == [], "no variant in tests/variants.py renders: " + ", ".join(gaps)


def test_full_tier_covers_every_option_value() -> None:
    gaps = [
        gap
        for question in QUESTIONS
        if question not in FULL_TIER_EXEMPT and kind(question) != "text"
        for gap in coverage_gaps(question, FULL_VARIANTS)
    ]

    assert gaps == [], "no variant of the full tier runs: " + ", ".join(gaps)


def test_answers_of_the_matrix_are_questions_of_copier_yml() -> None:
    unknown = {q for v in ALL_VARIANTS for q in v.answers if q not in QUESTIONS}

    assert sorted(unknown) == []


def test_render_tier_is_every_transports_subset_times_every_provider() -> None:
    transports = choices("transports")
    subsets = [
        sorted(s) for n in range(1, len(transports) + 1) for s in combinations(transports, n)
    ]
    expected = sorted((tuple(s), p) for s in subsets for p in choices("model_provider"))

    rendered = sorted(
        (tuple(sorted(v.answers["transports"])), v.answers["model_provider"])
        for v in RENDER_VARIANTS
    )

    assert rendered == expected


@pytest.mark.parametrize("option", SPREAD_OPTIONS)
def test_render_tier_meets_every_value_with_every_transports_subset_and_provider(
    option: str,
) -> None:
    def values(variants: Iterable[Variant]) -> set[str]:
        return {
            repr(bool(a)) if kind(option) == "list" else repr(a)
            for a in (effective(v, option) for v in variants)
        }

    every_value = values(RENDER_VARIANTS)
    rows = [[v for v in RENDER_VARIANTS if v.answers["transports"] == s] for s in TRANSPORT_SUBSETS]
    columns = [
        [v for v in RENDER_VARIANTS if v.answers["model_provider"] == p]
        for p in choices("model_provider")
    ]

    assert len(every_value) >= 2
    assert [values(line) for line in rows + columns] == [every_value] * len(rows + columns)


@pytest.mark.parametrize(("first", "second"), list(combinations(SPREAD_OPTIONS, 2)))
def test_render_tier_meets_every_value_of_each_option_with_every_value_of_another(
    first: str, second: str
) -> None:
    def value(variant: Variant, option: str) -> str:
        answer = effective(variant, option)
        return repr(bool(answer)) if kind(option) == "list" else repr(answer)

    firsts = {value(v, first) for v in RENDER_VARIANTS}
    seconds = {value(v, second) for v in RENDER_VARIANTS}
    pairs = {(value(v, first), value(v, second)) for v in RENDER_VARIANTS}

    assert pairs == {(a, b) for a in firsts for b in seconds}


def test_full_tier_runs_each_transports_subset_and_provider_once() -> None:
    subsets = [effective(v, "transports") for v in FULL_VARIANTS]
    providers = [effective(v, "model_provider") for v in FULL_VARIANTS]

    assert sorted(map(sorted, subsets)) == sorted(map(sorted, TRANSPORT_SUBSETS))
    assert sorted(providers) == sorted(choices("model_provider"))


def test_full_tier_pairs_transports_with_observability_and_the_redis_backend() -> None:
    """One and two transports each with and without Logfire; Redis under each transport."""
    pairs = {
        (len(effective(v, "transports")), effective(v, "observability")) for v in FULL_VARIANTS
    }
    under_redis = {
        t
        for v in FULL_VARIANTS
        if effective(v, "event_backend") == "redis"
        for t in effective(v, "transports")
    }

    assert {(n, o) for n in (1, 2) for o in choices("observability")} <= pairs
    assert under_redis == set(choices("transports"))


def test_variant_names_are_unique_folder_names() -> None:
    names = [v.name for v in ALL_VARIANTS]

    assert len(set(names)) == len(names)
    assert [n for n in names if not n or "/" in n or n.startswith(".")] == []
