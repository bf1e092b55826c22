"""The agent: the PydanticAI agent, its tools and deps, history, and the loop that runs it."""
