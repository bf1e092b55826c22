"""The tests' weather MCP server over stdio: the client starts it as a subprocess."""

from __future__ import annotations

from mcp_servers import weather_server

if __name__ == "__main__":
    weather_server().run("stdio")
