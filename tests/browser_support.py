"""Live servers for tests: the real app served by uvicorn on a free loopback port, and chromium.

Two ways to serve, one module:
- `live_server` (fixture): uvicorn in a thread of the test process. Yields a `LiveServer` (base URL
  and the running FastAPI app, whose `state.tracker` seeds data). For the browser tests.
- `ServerProcess`: `tracker serve` in a process of its own, exactly as deployed, with
  TRACKER_DATABASE_URL and the keys in the test's directory; `start()` waits for /healthz, `kill()`
  sends SIGKILL (the crash drills), `stop()` ends it gracefully. For the drills under tests/drills.

`chromium` yields a Playwright browser. Screenshots go to test-artifacts/ (gitignored). Never
`playwright install`: the browser is /usr/bin/chromium (`make test` installs it when root).
Every server listens on 127.0.0.1 only, on a port the kernel picked as free.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI

from tracker.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tracker_command() -> list[str]:
    """The `tracker` console script of this environment (or the module, if it is not installed)."""
    script = Path(sys.executable).parent / "tracker"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tracker.cli"]


def tracker_env(database_url: str, directory: Path, **extra: str) -> dict[str, str]:
    """The environment of a `tracker` process on this store, with its keys kept in `directory`
    (`extra` adds to it or overrides it)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRACKER_")}
    env.update(TRACKER_DATABASE_URL=database_url, TRACKER_VAR_DIR=str(directory / "var"),
               TRACKER_SIGNING_KEY_FILE=str(directory / "var" / "ledger_signing_key.pem"),
               TRACKER_SECRET_KEY="test-secret-key-not-for-production")
    env.update(extra)
    return env


def run_tracker(database_url: str, directory: Path, *args: str, timeout: float = 60,
                **extra: str) -> subprocess.CompletedProcess[str]:
    """Run one `tracker` command to its end (bounded by `timeout`); its output as text."""
    return subprocess.run([*tracker_command(), *args], env=tracker_env(database_url, directory, **extra),
                          capture_output=True, text=True, timeout=timeout, check=False)


def answers_health(url: str, process: subprocess.Popen, timeout: float) -> bool:
    """Whether `url`/healthz answers 200 within `timeout` seconds, while `process` (the server)
    runs: False as soon as it ends."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    return False


class ServerProcess:
    """`tracker serve` on 127.0.0.1 in a process of its own; its output goes to a log file."""

    def __init__(self, database_url: str, directory: Path, name: str = "server",
                 **extra_env: str) -> None:
        self.database_url = database_url
        self.extra_env = extra_env
        self.directory = directory
        self.name = name
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = directory / f"{name}.log"
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> ServerProcess:
        """Start the server and return once /healthz answers (or raise, quoting its log)."""
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [*tracker_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=tracker_env(self.database_url, self.directory, **self.extra_env), stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if answers_health(self.url, self.process, timeout):
            return self
        self.stop()
        raise RuntimeError(f"{self.name} did not start; its log ends:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flushing, no closing of connections (a crash)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM (uvicorn shuts down gracefully), SIGKILL if it takes too long."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@dataclass
class LiveServer:
    url: str
    app: FastAPI


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """The web app on a real store, served by uvicorn in a thread on a free loopback port."""
    import uvicorn

    from web.app import create_app

    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # kept open and handed to uvicorn: nobody can take it meanwhile
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    started = threading.Event()
    while not started.wait(0.02):
        if server.started:
            started.set()
        elif not thread.is_alive():
            raise RuntimeError("the test server did not start")
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def chromium() -> Iterator[object]:
    """Debian's headless chromium driven by Playwright; skips (saying why) when it is missing."""
    if not CHROMIUM.exists():
        pytest.skip("browser tests need /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot into test-artifacts/NAME.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def police_on(browser, server, cid: str, *, javascript: bool):  # noqa: ANN001, ANN201
    """A page at 360 px in French, signed in as the Saaba police's member through the sign-in
    form, on the commitment's page."""
    import re

    from tests.factories import PASSWORD

    context = browser.new_context(locale="fr-FR", java_script_enabled=javascript,
                                  viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(f"{server.url}/login")
    page.get_by_label("Nom du compte").fill("saaba-police")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/dialogues/saaba$"))
    page.goto(f"{server.url}/commitments/{cid}")
    return page
