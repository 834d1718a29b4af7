"""Run the web app of `digest serve` for real, for the tests that talk to it over HTTP.

```python
with run_app(site, flusher) as base_url:        # create_app on uvicorn, in a thread,
    httpx.get(f"{base_url}/")                   # on 127.0.0.1:<free port>; the lifespan runs
                                                # (the flusher starts, and flushes at the end)
with digest_serve(config_path, "--flush-seconds", "0", env=env) as server:
    httpx.get(server.url)                       # `digest serve --port 0` as a subprocess
    server.stop(signal.SIGTERM)                 # its exit code; server.stderr() its output
```

`FlushLog` wraps `apply_pending` for `Flusher(site, apply=log)`, so a test can wait for the
flusher to have written a list's pending changes instead of guessing how long that takes.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from digest.pipeline.changes import Applied, apply_pending
from digest.web import Flusher, Site, create_app

__all__ = [
    "DIGEST",
    "FlushLog",
    "ServeProcess",
    "digest_serve",
    "run_app",
    "run_digest",
    "serve_asgi",
]

DIGEST = Path(sys.executable).parent / "digest"
STARTUP_LIMIT = 30.0
"""Seconds a server gets to come up before the test gives up on it (a hang, not a slow CI)."""
ADDRESS = re.compile(r"digest serve: (http://\S+/) \(Ctrl-C to stop\)")


@contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """Serve an ASGI app on real uvicorn in a thread, on 127.0.0.1 and a free port (the socket
    is bound here, so no other test can take the port meanwhile). Yields the base URL, without
    a trailing slash; on leaving, the server shuts down gracefully (the lifespan's end runs)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="on", log_config=None, access_log=False, log_level="warning")
    )
    failed: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # shown to the test, not lost in a thread
            failed.append(exc)

    thread = threading.Thread(target=run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_LIMIT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"uvicorn did not start: {failed or 'no error raised'}")
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
    if failed:
        raise RuntimeError(f"uvicorn failed: {failed[0]!r}") from failed[0]


@contextmanager
def run_app(site: Site, flusher: Flusher | None = None) -> Iterator[str]:
    """`digest.web.create_app(site, flusher)` on real uvicorn (see `serve_asgi`)."""
    with serve_asgi(create_app(site, flusher)) as base_url:
        yield base_url


class FlushLog:
    """`apply_pending`, noting each pass, for `Flusher(site, apply=FlushLog())`: the flusher
    does the real work; the test can wait for it (`wait_applied`)."""

    def __init__(self, apply: Callable[..., Applied] = apply_pending) -> None:
        self._apply = apply
        self._passes: list[Applied] = []
        self._cond = threading.Condition()

    def __call__(self, *args: Any, **kwargs: Any) -> Applied:
        result = self._apply(*args, **kwargs)
        with self._cond:
            self._passes.append(result)
            self._cond.notify_all()
        return result

    @property
    def passes(self) -> list[Applied]:
        with self._cond:
            return list(self._passes)

    def applied(self, list_name: str) -> int:
        """How many changes of the list the flusher has written so far."""
        return sum(p.applied for p in self.passes if p.list_name == list_name)

    def wait_passes(self, count: int, timeout: float = STARTUP_LIMIT) -> None:
        """Until the flusher has made at least `count` passes (one per list, of any list)."""
        with self._cond:
            done = self._cond.wait_for(lambda: len(self._passes) >= count, timeout)
        if not done:
            raise AssertionError(f"the flusher made {len(self.passes)} passes, not {count}")

    def wait_applied(self, list_name: str, count: int, timeout: float = STARTUP_LIMIT) -> None:
        """Until the flusher has written at least `count` changes of the list in all."""
        with self._cond:
            done = self._cond.wait_for(
                lambda: sum(p.applied for p in self._passes if p.list_name == list_name) >= count,
                timeout,
            )
        if not done:
            raise AssertionError(
                f"the flusher wrote {self.applied(list_name)} change(s) of {list_name}, "
                f"not {count}, in {timeout:.0f} s: {self.passes}"
            )


class ServeProcess:
    """A running `digest serve`: `url` (with a trailing slash), `proc`, `stderr()` so far."""

    def __init__(self, proc: subprocess.Popen[str], url: str, lines: list[str]) -> None:
        self.proc = proc
        self.url = url
        self._lines = lines
        self._reader: threading.Thread | None = None

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._lines.append(line)

    def start_draining(self) -> None:
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    @property
    def port(self) -> int:
        return int(self.url.rstrip("/").rsplit(":", 1)[1])

    def stderr(self) -> str:
        return "".join(self._lines)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STARTUP_LIMIT) -> int:
        """Send `sig`, wait for the exit, and give its code (all of stderr is read by then)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        if self._reader is not None:
            self._reader.join(timeout)
        return code


@contextmanager
def digest_serve(
    config: Path, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Iterator[ServeProcess]:
    """`digest serve --port 0 --config <config> <args>` as a subprocess; yields once it has
    printed its address (`digest serve: http://127.0.0.1:PORT/ (Ctrl-C to stop)`). Killed on
    the way out if the test left it running."""
    cmd = [str(DIGEST), "serve", "--port", "0", "--config", str(config), *args]
    run_env = dict(os.environ if env is None else env)
    run_env.setdefault("PYTHONUNBUFFERED", "1")
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=run_env,
        cwd=cwd or config.parent,
    )
    lines: list[str] = []
    url = _await_address(proc, lines)
    server = ServeProcess(proc, url, lines)
    server.start_draining()
    try:
        yield server
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def _await_address(proc: subprocess.Popen[str], lines: list[str]) -> str:
    """The printed address; the process's output so far in the error if it never comes."""
    assert proc.stderr is not None
    found: list[str] = []
    done = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            m = ADDRESS.search(line)
            if m:
                found.append(m.group(1))
                break
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not done.wait(STARTUP_LIMIT) or not found:
        proc.kill()
        proc.wait()
        reader.join(5)
        raise RuntimeError(f"digest serve printed no address:\n{''.join(lines)}")
    reader.join()
    return found[0]


def run_digest(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`digest <args>` run to its end, its output kept."""
    return subprocess.run(
        [str(DIGEST), *args],
        capture_output=True,
        text=True,
        env=dict(os.environ if env is None else env),
        cwd=cwd,
        timeout=120,
        check=False,
    )
