"""The package's exceptions: one root, whose docstring is its default message."""

from __future__ import annotations


class ServiceError(Exception):
    """The agent service failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.__doc__ or "")


class ConfigurationError(ServiceError):
    """The service's settings are invalid."""


class DatabaseUnavailableError(ServiceError):
    """PostgreSQL cannot be reached."""


class StoreError(ServiceError):
    """The event store failed."""


class StaleLeaseError(StoreError):
    """The event's lease expired and another attempt took over; this outcome was rejected."""


class EventNotFoundError(StoreError):
    """No event has that id."""


class EventDecodeError(StoreError):
    """A stored event no longer matches any event model."""


class AgentRunTimeoutError(ServiceError):
    """The agent run took longer than AGENT_RUN_TIMEOUT and was stopped."""
