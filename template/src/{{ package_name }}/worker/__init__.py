"""Runs the agent on the queue: the loop that claims events, runs the agent with a deadline
and records the outcome, and the streaming of replies to waiting clients. Keep it."""
