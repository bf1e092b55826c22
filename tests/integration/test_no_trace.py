"""Unchosen options leave no trace: no file, import, setting, dependency, route, test or
paragraph of documentation mentions an option value that the answers did not choose.

Each rule names what an unchosen value would leave behind, in file contents and in
paths. The patterns are anchored so that legitimate text does not match: "HTTP" alone is
fine (every project is an HTTP server), `http://` URLs are fine, a provider's name in an
Ollama project's "OpenAI-compatible" is fine. A finding prints the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import pytest

from tests.variants import (
    ALL_VARIANTS,
    CLIENTS,
    PROVIDERS,
    RENDER_VARIANTS,
    TRANSPORTS,
    Variant,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.helpers import MatrixRenders

ANSWERS_FILE = ".copier-answers.yml"  # Copier's record of every answer, by design


@dataclass(frozen=True)
class Trace:
    """What an unchosen option value would leave in a render."""

    label: str
    contents: tuple[str, ...] = ()  # regular expressions, searched line by line
    paths: tuple[str, ...] = ()  # regular expressions, searched in relative paths
    flags: re.RegexFlag = re.IGNORECASE

    def content_patterns(self) -> list[re.Pattern[str]]:
        return [re.compile(p, self.flags) for p in self.contents]

    def path_patterns(self) -> list[re.Pattern[str]]:
        return [re.compile(p, self.flags) for p in self.paths]


# Not a letter or digit on either side: `ws.py`, `/ws`, `WS_ORIGINS`, not `news` or `aws`.
_ALONE = r"(?<![a-z0-9]){}(?![a-z0-9])"
# A route in a string or in prose (`"/events"`, `POST /events`), not a path (`core/events.py`).
_ROUTE = r"(?<![\w./-])/{}\b"

TRANSPORT_TRACES: Final = {
    "websocket": Trace(
        "the websocket transport",
        contents=(
            "websocket",  # WebSocket, WebSocketEvent, websocket.message, websockets
            _ALONE.format("ws"),  # ws.py, routes.ws, /ws, ws://, WS_ALLOWED_ORIGINS
            r"(?<!\w)replies\.py|\.replies\b",  # the reply-routing module
            r"(?<!\w)streaming\.py|\.streaming\b",  # the reply-streaming module
        ),
        paths=("websocket", _ALONE.format("ws"), "replies", r"(?<!\w)streaming\.py"),
    ),
    "http": Trace(
        "the http transport",
        contents=(
            r"\bHTTPEvent\b",
            r"\bhttp\.request\b",
            r"(?<![a-z])cors",  # CORSMiddleware, CORS_ORIGINS, cors_origins
            r"\broutes[./]events\b",
            _ROUTE.format("events"),
            _ROUTE.format("messages"),
            r"\bschemathesis\b",  # the OpenAPI fuzzer, a dev dependency
        ),
        paths=(_ALONE.format("http"), r"routes/events\.py"),
    ),
    "timer": Trace(
        "the timer transport",
        contents=(
            r"\bTimerEvent\b",
            r"\btimer\.tick\b",
            r"(?<![a-z])timer_",  # TIMER_INTERVAL_SECONDS, timer_interval_seconds
            r"\btimers?\b",  # the module (agent.timer, timer.py) and prose
        ),
        paths=("timer",),
    ),
}

# Each provider's pydantic-ai extra (Ollama speaks the OpenAI API) and SDK module.
PROVIDER_EXTRAS: Final = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "google",
    "groq": "groq",
    "mistral": "mistral",
    "ollama": "openai",
    "test": None,
}
PROVIDER_SDKS: Final = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "google",
    "groq": "groq",
    "mistral": "mistralai",
}


def provider_trace(unchosen: str, chosen: str) -> Trace | None:
    """What provider `unchosen` would leave in a project made for provider `chosen`.

    The `test` provider leaves nothing to look for: every project runs offline with
    `AGENT_MODEL=test`, whatever its provider.
    """
    if unchosen == "test":
        return None
    contents = [
        rf"\b{unchosen}_(api_key|base_url)\b",  # the setting and its variable
        rf"\b(providers|models)\.{unchosen}\b",  # pydantic_ai.providers.<x>, .models.<x>
    ]
    if sdk := PROVIDER_SDKS.get(unchosen):
        contents.append(rf"^\s*(from|import)\s+{sdk}\b")
    extra = PROVIDER_EXTRAS[unchosen]
    if extra is not None and extra != PROVIDER_EXTRAS[chosen]:
        contents.append(rf"pydantic-ai-slim\[[^\]]*\b{extra}\b")
    return Trace(f"the {unchosen} provider", contents=tuple(contents))


REDIS_TRACE: Final = Trace("the redis event backend", contents=("redis",), paths=("redis",))
LOGFIRE_TRACE: Final = Trace(
    "logfire observability",
    contents=("logfire", r"\bcapfire\b"),  # capfire: Logfire's pytest fixture
    paths=("logfire", r"(^|/)observability\.py$"),
)
# Prose may say that something needs no Docker; the files and commands must not appear.
DOCKER_TRACE: Final = Trace(
    "docker",
    contents=(r"dockerfile", r"docker[- ]compose", r"\.dockerignore", r"(?<![\w.-])docker/"),
    paths=("docker",),
)
CLIENT_TRACES: Final = {
    "vercel-ai": Trace(
        "the vercel-ai client",
        contents=(r"vercel", _ROUTE.format("api/chat"), r"\bui message stream\b"),
        paths=("vercel", r"routes/chat\.py$"),
    ),
    "ag-ui": Trace("the ag-ui client", contents=(r"\bag[-_]?ui\b",), paths=(r"ag[-_]ui",)),
    "playground": Trace(
        "the playground client",
        contents=("playground", "playwright", "chromium"),
        paths=("playground",),
    ),
}
# Where neither protocol client is chosen: no Node.js client code, nor its installer.
NODE_CLIENTS_TRACE: Final = Trace(
    "the protocol clients' Node.js code",
    contents=(r"\bnode_client\b", r"\bnpm\b", r"node\.js", r"setup-node"),
    paths=(r"node_client", r"^tests/clients(/|$)"),
)
GITHUB_CI_TRACE: Final = Trace(
    "github_ci",
    contents=(r"\.github/", r"github actions", r"\bworkflows/ci\b"),
    paths=(r"^\.github(/|$)",),
)


def traces_of_unchosen_options(variant: Variant) -> list[Trace]:
    """Every trace that must be absent from `variant`'s render."""
    answers = variant.answers
    transports = answers.get("transports", list(TRANSPORTS))
    provider = answers.get("model_provider", "openai")
    traces = [TRANSPORT_TRACES[t] for t in TRANSPORTS if t not in transports]
    clients = answers.get("clients", list(CLIENTS) if "websocket" in transports else [])
    traces += [CLIENT_TRACES[c] for c in CLIENTS if c not in clients]
    if not {"vercel-ai", "ag-ui"} & set(clients):
        traces.append(NODE_CLIENTS_TRACE)
    traces += [
        trace
        for other in PROVIDERS
        if other != provider and (trace := provider_trace(other, provider)) is not None
    ]
    if answers.get("event_backend", "postgres") != "redis":
        traces.append(REDIS_TRACE)
    if answers.get("observability", "logfire") != "logfire":
        traces.append(LOGFIRE_TRACE)
    if not answers.get("docker", True):
        traces.append(DOCKER_TRACE)
    if not answers.get("github_ci", True):
        traces.append(GITHUB_CI_TRACE)
    return traces


def find_traces(project: Path, traces: list[Trace]) -> list[str]:
    """Each match as `path:line: [what] line`, or `path: [what] (file name)`."""
    compiled = [(t.label, t.content_patterns(), t.path_patterns()) for t in traces]
    findings: list[str] = []
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project).as_posix()
        if relative == ANSWERS_FILE:
            continue
        for label, _, path_patterns in compiled:
            if any(p.search(relative) for p in path_patterns):
                findings.append(f"{relative}: [{label}] (its name)")
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        for number, line in enumerate(text.splitlines(), start=1):
            for label, content_patterns, _ in compiled:
                if any(p.search(line) for p in content_patterns):
                    findings.append(f"{relative}:{number}: [{label}] {line.strip()[:160]}")
    return findings


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=lambda v: v.name)
def test_render_has_no_trace_of_unchosen_options(
    variant: Variant, matrix_render: MatrixRenders
) -> None:
    findings = find_traces(matrix_render(variant), traces_of_unchosen_options(variant))

    assert not findings, f"{len(findings)} traces of unchosen options:\n" + "\n".join(findings)


def _first_render_variant(question: str, value: object) -> Variant:
    """The first render-tier variant that chose `value` for `question`."""
    for candidate in RENDER_VARIANTS:
        answer = candidate.answers.get(question)
        if answer == value or (isinstance(answer, list) and value in answer):
            return candidate
    raise LookupError(f"no render-tier variant with {question}={value!r}")


# Each rule, where its option was chosen: (the rule, the question, the value).
RULES_WHERE_CHOSEN: Final = [
    *[(TRANSPORT_TRACES[t], "transports", t) for t in TRANSPORTS],
    *[(CLIENT_TRACES[c], "clients", c) for c in CLIENTS],
    (NODE_CLIENTS_TRACE, "clients", "ag-ui"),
    *[(provider_trace(p, "test"), "model_provider", p) for p in PROVIDERS if p != "test"],
    (REDIS_TRACE, "event_backend", "redis"),
    (LOGFIRE_TRACE, "observability", "logfire"),
    (DOCKER_TRACE, "docker", True),
    (GITHUB_CI_TRACE, "github_ci", True),
]


@pytest.mark.parametrize(
    ("trace", "question", "value"),
    [pytest.param(t, q, v, id=f"{q}={v}") for t, q, v in RULES_WHERE_CHOSEN],
)
def test_trace_rule_finds_its_option_where_it_was_chosen(
    trace: Trace | None, question: str, value: object, matrix_render: MatrixRenders
) -> None:
    """A rule that finds nothing in a render that has its option would prove nothing."""
    assert trace is not None
    project = matrix_render(_first_render_variant(question, value))

    assert find_traces(project, [trace]) != []


# The rules themselves: each fires on what it is for, and not on legitimate text.
@pytest.mark.parametrize(
    ("trace", "line"),
    [
        (TRANSPORT_TRACES["websocket"], "app.include_router(ws.router)"),
        (TRANSPORT_TRACES["websocket"], "WS_ALLOWED_ORIGINS=https://app.example.com"),
        (TRANSPORT_TRACES["websocket"], 'client.websocket_connect("/ws")'),
        (TRANSPORT_TRACES["websocket"], "from app.infra.replies import ReplyRouter"),
        (TRANSPORT_TRACES["http"], 'client.post("/events", json=event)'),
        (TRANSPORT_TRACES["http"], "- `POST /messages`: a chat message"),
        (TRANSPORT_TRACES["http"], "app.add_middleware(CORSMiddleware)"),
        (TRANSPORT_TRACES["http"], 'type: Literal["http.request"]'),
        (TRANSPORT_TRACES["timer"], "TIMER_INTERVAL_SECONDS=60"),
        (TRANSPORT_TRACES["timer"], "On a timer tick, check whether anything needs doing."),
        (provider_trace("anthropic", "openai"), "ANTHROPIC_API_KEY="),
        (provider_trace("anthropic", "openai"), '"pydantic-ai-slim[anthropic]>=2.60",'),
        (provider_trace("openai", "anthropic"), "from pydantic_ai.providers.openai import X"),
        (provider_trace("mistral", "openai"), "    import mistralai"),
        (provider_trace("ollama", "openai"), "OLLAMA_BASE_URL=http://localhost:11434/v1"),
        (REDIS_TRACE, "REDIS_URL=redis://localhost:6379/0"),
        (LOGFIRE_TRACE, "def test_spans(capfire: CaptureLogfire) -> None:"),
        (DOCKER_TRACE, "docker compose up"),
        (DOCKER_TRACE, "COPY docker/entrypoint.sh /app/"),
        (GITHUB_CI_TRACE, "CI runs `.github/workflows/ci.yml` on every push."),
        (CLIENT_TRACES["vercel-ai"], "`POST /api/chat` streams the UI message stream"),
        (CLIENT_TRACES["ag-ui"], "from reflex_agent.api.routes import ag_ui"),
        (CLIENT_TRACES["ag-ui"], '"pydantic-ai-slim[openai,ag-ui]>=2.60",'),
        (CLIENT_TRACES["playground"], "Open http://127.0.0.1:8000/playground"),
        (NODE_CLIENTS_TRACE, "uses: actions/setup-node@v4"),
    ],
)
def test_trace_rule_finds_its_trace(trace: Trace | None, line: str) -> None:
    assert trace is not None
    assert any(p.search(line) for p in trace.content_patterns())


@pytest.mark.parametrize(
    ("trace", "line"),
    [
        (TRANSPORT_TRACES["websocket"], "news about AWS and ws2 or wsgi"),
        (TRANSPORT_TRACES["websocket"], "harness = Harness(streaming_words(['ok']))"),
        (TRANSPORT_TRACES["http"], "An HTTP server: GET /health answers 200."),
        (TRANSPORT_TRACES["http"], "DATABASE_URL, see http://localhost:8000/docs"),
        (TRANSPORT_TRACES["http"], "Edit `src/app/core/events.py` to add an event type."),
        (TRANSPORT_TRACES["http"], "httpx.AsyncClient(base_url='http://app')"),
        (TRANSPORT_TRACES["timer"], "a lease timeout; the scheduler's timestamps"),
        (provider_trace("openai", "ollama"), '"pydantic-ai-slim[openai]>=2.60",'),
        (provider_trace("openai", "ollama"), "Ollama's OpenAI-compatible API"),
        (provider_trace("google", "openai"), "GOOGLE_CLOUD_PROJECT is not read"),
        (REDIS_TRACE, "DATABASE_URL=postgresql://postgres@localhost:5432/app"),
        (DOCKER_TRACE, "An embedded PostgreSQL server, with no Docker and no root."),
        (CLIENT_TRACES["vercel-ai"], "POST /events and GET /events/{id}"),
        (CLIENT_TRACES["ag-ui"], "a flag guide, bag-uid"),
        (NODE_CLIENTS_TRACE, "the node's id; a nodejs-free install"),
    ],
)
def test_trace_rule_ignores_legitimate_text(trace: Trace | None, line: str) -> None:
    assert trace is not None
    assert not [p.pattern for p in trace.content_patterns() if p.search(line)]
