"""The agent: the PydanticAI agent, its instructions and tools, its deps, and the prompt for
each event type. Replace it with your own; the rest of the service runs whatever is here."""
