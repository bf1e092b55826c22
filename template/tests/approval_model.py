"""A model that asks to notify the team (a tool that needs approval), then answers with what
the tool said, or the denial: `Done: <tool result>`. In-process tests and the approval
server (`approval_server.py`) run it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel

ASKED = {"message": "the disk is full", "channel": "ops"}
"""The arguments the model asks for."""


def tool_answer(messages: list[ModelMessage]) -> str | None:
    """What the notification tool answered (its result, or the denial), if it did."""
    last = messages[-1]
    if isinstance(last, ModelRequest):
        for part in last.parts:
            if isinstance(part, ToolReturnPart) and part.tool_name == "notify_team":
                return part.model_response_str()
    return None


def approval_model() -> FunctionModel:
    async def respond(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        answer = tool_answer(messages)
        if answer is None:
            return ModelResponse(parts=[ToolCallPart("notify_team", ASKED, tool_call_id="call-1")])
        return ModelResponse(parts=[TextPart(f"Done: {answer}")])

    async def stream(
        messages: list[ModelMessage], _info: AgentInfo
    ) -> AsyncIterator[str | DeltaToolCalls]:
        answer = tool_answer(messages)
        if answer is None:
            args = json.dumps(ASKED)
            yield {0: DeltaToolCall(name="notify_team", json_args=args, tool_call_id="call-1")}
            return
        yield f"Done: {answer}"

    return FunctionModel(respond, stream_function=stream)
