"""The package's exceptions: one root, whose docstring is its default message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict
from uuid import UUID


class ServiceError(Exception):
    """The agent service failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.__doc__ or "")


class ConfigurationError(ServiceError):
    """The service's settings are invalid."""


class SchemaBehindError(ConfigurationError):
    """The database schema lacks migrations this code needs: apply them first."""


class DatabaseUnavailableError(ServiceError):
    """PostgreSQL cannot be reached."""


class StoreError(ServiceError):
    """The event store failed."""


class StaleLeaseError(StoreError):
    """The event's lease expired and another attempt took over; this outcome was rejected."""


class ConversationBusyError(StoreError):
    """The conversation has a turn pending or running (CONVERSATION_POLICY=reject)."""

    def __init__(self, event_id: UUID) -> None:
        self.event_id = event_id
        super().__init__(
            f"the conversation has a turn in progress: event {event_id} "
            "(CONVERSATION_POLICY=reject); send it again when it ends, or cancel it"
        )


class EventDecodeError(StoreError):
    """A stored event no longer matches any event model."""


class UnstorableError(StoreError):
    """A value holds text PostgreSQL cannot store (a NUL character or a lone surrogate)."""


class InputProblem(TypedDict):
    """One thing wrong with a client's input: where (`loc`), what (`msg`), and its kind."""

    loc: tuple[str | int, ...]
    msg: str
    type: str


class InvalidInputError(ServiceError):
    """A client sent input that is not a valid event; nothing was stored."""

    def __init__(self, problems: Sequence[InputProblem]) -> None:
        self.problems = list(problems)
        super().__init__(summarize(self.problems))


def summarize(problems: Sequence[InputProblem], *, limit: int = 5) -> str:
    """A short, readable account of what is wrong: `location: message; ...`."""
    parts = [
        f"{'.'.join(str(part) for part in problem['loc']) or 'input'}: {problem['msg']}"
        for problem in problems[:limit]
    ]
    if len(problems) > limit:
        parts.append(f"and {len(problems) - limit} more")
    return "; ".join(parts)


class AgentRunTimeoutError(ServiceError):
    """The agent run took longer than AGENT_RUN_TIMEOUT and was stopped."""


class McpServerError(ServiceError):
    """An MCP server the agent uses failed or did not answer in time."""

    def __init__(self, servers: Sequence[str], problem: str) -> None:
        self.servers = tuple(servers)
        names = ", ".join(repr(server) for server in self.servers)
        super().__init__(f"MCP server {names} {problem}")


class ApprovalError(ServiceError):
    """The decision was refused: nothing changed."""


class ApprovalNotFoundError(ApprovalError):
    """No approval has that id."""


class ApprovalDecidedError(ApprovalError):
    """The approval was decided already (or expired): a call is decided once."""


class ApprovalConversationError(ApprovalError):
    """The approval belongs to another conversation."""
