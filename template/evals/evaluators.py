"""Checks of an agent run beyond its reply, read from what `running.py` recorded."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import JsonValue
from pydantic_evals.evaluators import EvaluationReason, Evaluator, EvaluatorContext

from evals.running import TOOL_CALLS, ToolUse, Turn


@dataclass
class CalledTool(Evaluator[Turn, str, None]):
    """The agent called `tool` with (at least) `args`, and the call returned: a call the
    tool refused (`ModelRetry`) or that failed does not count."""

    tool: str
    args: dict[str, JsonValue] = field(default_factory=dict)

    def evaluate(self, ctx: EvaluatorContext[Turn, str, None]) -> EvaluationReason:
        uses: list[ToolUse] = ctx.attributes.get(TOOL_CALLS, [])
        for use in uses:
            if use.tool == self.tool and use.returned and self.args.items() <= use.args.items():
                return EvaluationReason(value=True)
        made = ", ".join(use.describe() for use in uses) or "none"
        wanted = ToolUse(tool=self.tool, args=self.args, returned=True).describe()
        return EvaluationReason(value=False, reason=f"wanted {wanted}; calls made: {made}")
