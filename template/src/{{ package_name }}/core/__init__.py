"""Core types: the events the agent reacts to."""
