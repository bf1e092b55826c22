"""The tests' weather MCP server over stdio, which the client starts as a subprocess; with a
`crash` tool that ends the process at once, as a crash does, and a `pid` tool that names it."""

from __future__ import annotations

import os

from mcp_servers import weather_server

if __name__ == "__main__":
    server = weather_server()

    @server.tool()
    def crash() -> str:
        """Ends the server's process at once."""
        os._exit(1)

    @server.tool()
    def pid() -> int:
        """This server's process id."""
        return os.getpid()

    server.run("stdio")
