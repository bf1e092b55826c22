"""MCP servers for the tests, spoken to through the real protocol.

`weather_server()` has a `forecast` tool and a `stall` tool that never answers.
`HttpMcpServer` serves it over streamable HTTP on a loopback port in this process, and can
stop and start again on the same port; `STDIO_SERVER` is the same server as a script the
client runs as a subprocess over stdio.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from mcp.server.mcpserver import MCPServer

STDIO_SERVER = Path(__file__).with_name("mcp_stdio_server.py")


def weather_server() -> MCPServer:
    server = MCPServer("weather")

    @server.tool()
    def forecast(city: str) -> str:
        """Tomorrow's weather in a city."""
        return f"Sunny in {city} tomorrow."

    @server.tool()
    async def stall() -> str:
        """Answers in an hour."""
        await asyncio.sleep(3600)
        return "late"

    return server


class HttpMcpServer:
    """`weather_server()` over streamable HTTP on 127.0.0.1."""

    def __init__(self) -> None:
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    async def start(self) -> None:
        """Serve (on the port it had, after a `stop()`)."""
        app = weather_server().streamable_http_app()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self._server = server = uvicorn.Server(config)
        self._task = asyncio.create_task(server.serve())
        while not server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        self.port = server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop serving: the port refuses connections until `start()`."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._server = self._task = None


@asynccontextmanager
async def http_mcp_server() -> AsyncIterator[HttpMcpServer]:
    server = HttpMcpServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def mcp_config(folder: Path, name: str = "local") -> Path:
    """An `mcpServers` file (MCP_SERVERS) naming the stdio server `name`."""
    path = folder / "mcp.json"
    server = {"command": sys.executable, "args": [str(STDIO_SERVER)]}
    path.write_text(json.dumps({"mcpServers": {name: server}}))
    return path
