"""Checkpointing an agent run as it goes, so that a retried event resumes it.

`Checkpointing` is a pydantic-ai capability added to each run of the agent loop:

- after each model response that calls tools, it keeps the run's messages so far
  (`Checkpoints.save`); a retried event resumes from them with no new prompt, and
  pydantic-ai makes the calls of the last response, which is not asked for again;
- around each call of a side-effecting tool (`metadata=SIDE_EFFECT`, `agent/deps.py`), it
  checks first whether an earlier attempt recorded the call's result, and uses that result
  instead of calling the tool; otherwise it calls the tool and records the result before
  the run moves on.

What this guarantees, per event: a side-effecting call whose result was recorded is not
made again by a later attempt; a stale attempt (its lease lost, another attempt running)
starts no side-effecting call once a newer attempt began, and its checkpoints are refused
(`StaleLeaseError` ends it). What it does not: a process that dies after a call and before
its result was recorded leaves the call to be made again by the next attempt, with the same
`idempotency_key(ctx)`, which the outside system must honour to make it a no-op. Tools that
are not side-effecting are made again when their step is retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic_ai import CallToolsNode, ModelRequestNode, RunContext
from pydantic_ai.capabilities import (
    AbstractCapability,
    AgentNode,
    NodeResult,
    ValidatedToolArgs,
    WrapToolExecuteHandler,
)
from pydantic_ai.messages import ToolCallPart
from pydantic_ai.tools import ToolDefinition
from pydantic_core import to_jsonable_python

from {{ package_name }}.agent.deps import AgentDeps, is_side_effecting
from {{ package_name }}.infra.checkpoints import Checkpoints


@dataclass(kw_only=True)
class Checkpointing(AbstractCapability[AgentDeps]):
    """Keeps one event attempt's run in `checkpoints` (see the module's docstring)."""

    checkpoints: Checkpoints
    event_id: UUID
    attempt: int
    start: int
    """Messages before this index are the conversation's history, not the run's."""

    async def after_node_run(
        self,
        ctx: RunContext[AgentDeps],
        *,
        node: AgentNode[AgentDeps],
        result: NodeResult[AgentDeps],
    ) -> NodeResult[AgentDeps]:
        if (
            isinstance(node, ModelRequestNode)
            and isinstance(result, CallToolsNode)
            and result.model_response.tool_calls
        ):
            await self.checkpoints.save(self.event_id, self.attempt, ctx.messages[self.start :])
        return result

    async def wrap_tool_execute(
        self,
        ctx: RunContext[AgentDeps],
        *,
        call: ToolCallPart,
        tool_def: ToolDefinition,
        args: ValidatedToolArgs,
        handler: WrapToolExecuteHandler,
    ) -> Any:
        if not is_side_effecting(tool_def.metadata):
            return await handler(args)
        call_id = call.tool_call_id
        recorded = await self.checkpoints.start_call(self.event_id, self.attempt, call_id)
        if recorded is not None:
            return recorded.result
        result = await handler(args)
        await self.checkpoints.record_call(
            self.event_id, self.attempt, call_id, to_jsonable_python(result, fallback=str)
        )
        return result
