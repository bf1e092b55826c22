"""The variant matrix: named sets of answers that the template is rendered with.

Two tiers:

- `RENDER_VARIANTS`: every subset of `transports` x every `model_provider` (49
  renders). Each is rendered without the post-copy task and checked statically:
  `ruff check`, `ruff format --check` and strict mypy in one shared environment,
  a scan for traces of unchosen options, and render hygiene. The other options
  (project name, Python version, event backend, observability, CI, docker, custom
  events) are spread over the grid so that every value of each one meets every
  transports subset, every provider and every value of the others at least once
  (`test_matrix.py` checks it).
- `FULL_VARIANTS`: a covering set that runs the generated project's own
  `make install`, `make lint`, `make type-check` and `make test` against a real
  PostgreSQL (and Redis), as its README says: each transports subset and each
  provider once, each kind of transports subset (one, two, all three) with both
  observability values, Redis under each transport.

The matrix is written out, not derived from copier.yml, so that a new question
or choice fails `test_matrix_covers_every_option` until someone decides how it
is tested.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class Variant:
    """A named set of answers; questions it leaves out take copier.yml's default."""

    name: str
    answers: Mapping[str, Any]


def variant(name: str, **answers: object) -> Variant:
    return Variant(name, MappingProxyType(dict(answers)))


TRANSPORTS: Final = ("websocket", "http", "timer")
PROVIDERS: Final = ("openai", "anthropic", "google", "groq", "mistral", "ollama", "test")
PYTHON_VERSIONS: Final = ("3.11", "3.12", "3.13")
# Every non-empty subset, in copier.yml's order: the three singles, the pairs, all three.
TRANSPORT_SUBSETS: Final = tuple(
    list(subset) for size in (1, 2, 3) for subset in combinations(TRANSPORTS, size)
)
SHORT_TRANSPORT: Final = {"websocket": "ws", "http": "http", "timer": "timer"}
TWO_CUSTOM_EVENTS: Final = ("order.created", "invoice.paid_late")
CLIENTS: Final = ("vercel-ai", "ag-ui", "playground")
# Seven subsets of the clients, one per provider column: where WebSocket is chosen (the
# clients come with it), each row of the grid renders every one of them, shifted by row.
CLIENT_SUBSETS: Final[tuple[list[str], ...]] = (
    [],
    ["vercel-ai"],
    ["ag-ui"],
    ["playground"],
    ["vercel-ai", "ag-ui"],
    ["ag-ui", "playground"],
    list(CLIENTS),
)


def transports_label(transports: list[str]) -> str:
    return "+".join(SHORT_TRANSPORT[t] for t in transports)


# Project names whose package sorts before, between and after the generated tests' own
# top-level modules (agent_harness, conftest, server_process): import order depends on it.
PROJECT_NAMES: Final = ("Reflex Agent", "Acme Support", "Zeta Ops")


def _spread(cell: int, values: tuple[Any, ...], stride: int) -> Any:  # noqa: ANN401 (any answer)
    return values[cell // stride % len(values)]


def _render_variant(row: int, column: int) -> Variant:
    """Cell (transports subset `row`, provider `column`) of the render grid.

    The other options are digits of the cell's number, `7 * row + column`: 7 is prime
    to 2 and 3, so along every row and every column each of their values occurs, and
    with these strides every two of them meet in all their combinations
    (test_matrix.py checks both).
    """
    transports = TRANSPORT_SUBSETS[row]
    provider = PROVIDERS[column]
    cell = len(PROVIDERS) * row + column
    clients = (
        {"clients": CLIENT_SUBSETS[(column + row) % len(CLIENT_SUBSETS)]}
        if "websocket" in transports
        else {}
    )
    return variant(
        f"{transports_label(transports)}-{provider}",
        transports=transports,
        model_provider=provider,
        project_name=_spread(cell, PROJECT_NAMES, 3),
        python_version=_spread(cell, PYTHON_VERSIONS, 1),
        event_backend=_spread(cell, ("postgres", "redis"), 1),
        observability=_spread(cell, ("logfire", "none"), 2),
        github_ci=_spread(cell, (True, False), 3),
        docker=_spread(cell, (True, False), 4),
        custom_events=_spread(cell, ([], list(TWO_CUSTOM_EVENTS)), 5),
        **clients,
    )


RENDER_VARIANTS: Final = tuple(
    _render_variant(row, column)
    for row in range(len(TRANSPORT_SUBSETS))
    for column in range(len(PROVIDERS))
)

# The full tier runs Python 3.11 only: `make install` needs an interpreter of the
# project's `python_version`, and the test machines have 3.11 (uv cannot download
# one there). 3.12 and 3.13 are covered by the render tier's lint and type check.
DEFAULT: Final = variant("default")
FULL_VARIANTS: Final = (
    # All transports, OpenAI, Logfire, PostgreSQL, Docker, CI: copier.yml's defaults.
    # Also run against the embedded PostgreSQL (test_generated_project.py).
    DEFAULT,
    variant(
        "ws-anthropic-redis",
        transports=["websocket"],
        clients=["vercel-ai"],
        model_provider="anthropic",
        agent_model="anthropic:claude-haiku-4-5",
        event_backend="redis",
        observability="none",
        docker=False,
    ),
    variant(
        "http-google-custom-events",
        project_name="Support Desk",
        package_name="support_desk",
        description="Answers support tickets as they arrive",
        author_name="Ada Lovelace",
        author_email="ada@example.org",
        transports=["http"],
        model_provider="google",
        custom_events=list(TWO_CUSTOM_EVENTS),
        github_ci=False,
    ),
    variant(
        "timer-groq-redis-custom-event",
        transports=["timer"],
        model_provider="groq",
        event_backend="redis",
        observability="none",
        custom_events=["sensor.reading_received"],
        docker=False,
        github_ci=False,
    ),
    variant(
        "ws+http-mistral-no-logfire",
        transports=["websocket", "http"],
        clients=[],
        model_provider="mistral",
        observability="none",
    ),
    variant(
        "http+timer-ollama-redis",
        project_name="Night Watch",
        transports=["http", "timer"],
        model_provider="ollama",
        event_backend="redis",
        docker=False,
    ),
    variant(
        "ws+timer-test-custom-events",
        transports=["websocket", "timer"],
        clients=["ag-ui", "playground"],
        model_provider="test",
        observability="none",
        custom_events=["order.created", "billing.invoice.paid_late"],
        github_ci=False,
    ),
)

ALL_VARIANTS: Final = RENDER_VARIANTS + FULL_VARIANTS
