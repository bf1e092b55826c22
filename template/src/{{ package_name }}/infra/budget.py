"""The history budget: which stored runs of a conversation the model is shown.

Fed back whole, a conversation's history would one day outgrow the model's context window,
and from then on every event of the conversation would fail the same way (the provider
refuses the request, the event is retried and dead-lettered, and so is every later one).
`AGENT_HISTORY_MAX_CHARS` bounds it, in characters of the stored JSON: a measure that does
not depend on the model, at about 4 characters a token (JSON and code run denser, and the
stored JSON holds timestamps and ids the model never sees, so the bound errs on the safe
side).

Runs are kept or left out whole, newest first: a tool call never loses its return, and the
history still starts with the request that opened a run. Keeping stops at the first run
that does not fit, as a gap in the middle would leave the model answering turns it never
saw asked. A run that alone exceeds the budget is left out even when it is the newest: the
budget is there so that the next request fits, and keeping an oversized run would fail every
later event of the conversation, which is the failure the budget prevents. When runs are
left out, the history opens with a system note that says so, so that the model does not take
the first turn it sees for the start of the conversation.

A `system_prompt` given to the agent lives in a conversation's first run only, and goes when
that run is left out; `instructions` (which this template's agent uses) are sent with every
request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple
from uuid import UUID

from pydantic_ai.messages import ModelRequest, SystemPromptPart


class StoredRun(NamedTuple):
    """One agent run as stored: its event's id and its messages as a JSON document."""

    event_id: UUID
    document: str


def fit_runs(runs: Sequence[StoredRun], *, max_chars: int) -> tuple[list[StoredRun], int]:
    """The newest of `runs` (oldest first) whose documents fit in `max_chars` together, oldest
    first, and how many older runs are left out. `max_chars` 0 keeps them all."""
    if max_chars <= 0:
        return list(runs), 0
    start, used = len(runs), 0
    while start > 0 and used + len(runs[start - 1].document) <= max_chars:
        start -= 1
        used += len(runs[start].document)
    return list(runs[start:]), start


def omitted_note(left_out: int, *, earlier: bool) -> ModelRequest | None:
    """The system note that opens a history with runs left out: `left_out` of those loaded
    did not fit the budget; `earlier`: the conversation has runs before the loaded ones."""
    if left_out == 0 and not earlier:
        return None
    if left_out:
        turns = (
            "turn of this conversation is" if left_out == 1 else "turns of this conversation are"
        )
        text = f"{left_out} earlier {turns} omitted to fit the history budget"
        text += ", and older ones before them." if earlier else "."
    else:
        text = "Earlier turns of this conversation are omitted: only the latest are shown."
    return ModelRequest(parts=[SystemPromptPart(text)])
