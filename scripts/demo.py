"""Render the default project, start it, talk to its agent over a WebSocket, stop it.

The client sends a message and reads the reply, then sends another, drops the connection
after the first frame of its reply and resumes the numbered stream on a new connection.
Then the service starts again on a scripted model that calls a tool needing approval
(the project's `tests/approval_server.py`): the run pauses, the client approves the call
with an edited argument, and the resumed run answers.

Run with `make demo`. Needs only Python and uv (the Makefile installs uv when missing).
The rendered service uses an embedded PostgreSQL (no database server needed) and the
offline test model unless OPENAI_API_KEY is set.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path
from typing import IO

import copier
from copier.errors import DirtyLocalWarning

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "build" / "demo"
PROJECT = DEMO / "reflex_agent"

CLIENT_HELPERS = """
import asyncio, json, sys
import websockets

async def frames(ws, until):
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
        print("< " + json.dumps(frame), flush=True)
        if until(frame):
            return frame
"""

CLIENT = (
    CLIENT_HELPERS
    + """
FINAL = ("result", "error", "cancelled")

async def main(url: str, text: str) -> None:
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"text": text}))
        print("> " + text, flush=True)
        await frames(ws, lambda frame: frame["type"] in FINAL)

    # Resumable reply streams: drop the connection after the first numbered frame, then
    # resume on a new one after the last frame seen; nothing is lost, nothing comes twice.
    print("\\n-- a second message; the connection drops after its first reply frame", flush=True)
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"text": "And what can you do?"}))
        receipt = await frames(ws, lambda frame: frame["type"] == "receipt")
        first = await frames(ws, lambda frame: "seq" in frame)
    if first["type"] in FINAL:
        return
    resume = {"type": "resume", "event_id": receipt["event_id"], "after": first["seq"]}
    print("\\n-- a new connection resumes the reply stream", flush=True)
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps(resume))
        print("> " + json.dumps(resume), flush=True)
        await frames(ws, lambda frame: frame["type"] in FINAL)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""
)

APPROVAL_CLIENT = (
    CLIENT_HELPERS
    + """
async def main(url: str, text: str) -> None:
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"text": text}))
        print("> " + text, flush=True)
        ends = ("approval_required", "result", "error")
        paused = await frames(ws, lambda frame: frame["type"] in ends)
        if paused["type"] != "approval_required":
            raise SystemExit("the run did not ask for approval")
        (call,) = paused["calls"]
        decision = {"type": "decision", "approval_id": call["approval_id"], "approve": True,
                    "args": {"channel": "oncall"}}
        print("\\n-- approved, with the channel changed: the tool runs, and its", flush=True)
        print("   frame shows, the edited arguments", flush=True)
        await ws.send(json.dumps(decision))
        print("> " + json.dumps(decision), flush=True)
        answer = await frames(ws, lambda frame: frame["type"] in ("decision", "error"))
        if answer["type"] != "decision":
            raise SystemExit("the decision was refused")
        await frames(
            ws,
            lambda frame: frame.get("event_id") == answer["event_id"]
            and frame["type"] in ("result", "error", "cancelled", "approval_required"),
        )

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""
)


def step(message: str) -> None:
    print(f"\n== {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(url: str, process: subprocess.Popen[bytes], *, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the service exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local URL
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the service was not ready within {seconds:.0f}s")


def start(argv: list[str], env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    python = str(PROJECT / ".venv" / "bin" / "python")
    service = subprocess.Popen([python, *argv], cwd=PROJECT, env=env, stdout=log, stderr=log)
    started = time.monotonic()
    try:
        wait_ready(f"http://127.0.0.1:{env['PORT']}/health/ready", service)
    except BaseException:
        stop(service)
        raise
    print(f"ready in {time.monotonic() - started:.1f}s")
    return service


def stop(service: subprocess.Popen[bytes]) -> None:
    service.send_signal(signal.SIGTERM)
    try:
        service.wait(60)
    except subprocess.TimeoutExpired:
        service.kill()
        service.wait()


def talk(client: str, port: int, text: str) -> None:
    python = str(PROJECT / ".venv" / "bin" / "python")
    url = f"ws://127.0.0.1:{port}/ws"
    subprocess.run([python, "-c", client, url, text], check=True, timeout=120)


def main() -> int:
    step("Rendering the default project")
    shutil.rmtree(DEMO, ignore_errors=True)
    DEMO.mkdir(parents=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DirtyLocalWarning)  # a working copy renders as it is
        copier.run_copy(str(ROOT), PROJECT, vcs_ref="HEAD", defaults=True, unsafe=True, quiet=True)
    print(f"rendered into {PROJECT.relative_to(ROOT)}")

    step("Installing it (uv sync)")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "DATABASE_URL")}
    subprocess.run(["uv", "sync", "--quiet"], cwd=PROJECT, env=env, check=True)

    port = free_port()
    model = "openai:gpt-4o-mini" if os.environ.get("OPENAI_API_KEY") else "test"
    env.update(AGENT_MODEL=model, PORT=str(port), HOST="127.0.0.1", TIMER_INTERVAL_SECONDS="0")
    with (DEMO / "service.log").open("wb") as log:
        step(f"Starting it on port {port} (AGENT_MODEL={model}, embedded PostgreSQL)")
        service = start(["-m", "reflex_agent", "serve"], env, log)
        try:
            step(f"Talking to the agent over ws://127.0.0.1:{port}/ws")
            talk(CLIENT, port, "Hello, agent! What time is it?")
            step("The playground, a chat page served by the service")
            url = f"http://127.0.0.1:{port}/playground"
            with urllib.request.urlopen(url, timeout=10) as response:
                page = response.read()
            print(f"GET {url}: {response.status}, {len(page)} bytes of HTML")
        finally:
            step("Stopping it")
            stop(service)
            print(f"stopped (exit code {service.returncode})")

        step("Starting it again on a scripted model that calls a tool needing approval")
        print("(tests/approval_server.py: the model asks to run notify_team, then reports)")
        service = start(["tests/approval_server.py", "serve"], env, log)
        try:
            talk(APPROVAL_CLIENT, port, "The disk is full: tell the team.")
        finally:
            step("Stopping it")
            stop(service)
            print(f"stopped (exit code {service.returncode}); log: build/demo/service.log")
    print("\nDone. The project is in build/demo/reflex_agent: cd there and run `make dev`,")
    print("then open the playground at http://localhost:8000/playground and chat with the agent.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
