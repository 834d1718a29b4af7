"""`digest serve` as its users run it: a subprocess on a free port, stopped by signals, with the
unsubscribe clicks it answered ending up in the list's CSV file whatever way it ends."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
from pathlib import Path

import httpx
import pytest
from conftest import make_newsletter
from webserver import digest_serve, run_digest

from digest.state import STATE_FILE
from digest.tokens import unsubscribe_url

SECRET = "a-secret-for-the-serve-tests-0123456789"
HEADER = "email,name,status,subscribed_at,unsubscribed_at\n"
READERS = (
    "ada@example.com,Ada Lovelace,subscribed,2026-01-02T03:04:05Z,\n"
    "grace@example.com,,subscribed,,\n"
    "alan@example.com,Alan Turing,unsubscribed,,2026-10-01T00:00:00Z\n"
)
ONE_CLICK = b"List-Unsubscribe=One-Click"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
NEVER = "3600"
"""--flush-seconds no test waits for: what reaches the file came from the stop, or a command."""


@pytest.fixture
def news(tmp_path: Path) -> Path:
    root = make_newsletter(tmp_path)
    (root / "subscribers" / "daily.csv").write_text(HEADER + READERS, encoding="utf-8")
    return root


def env(secret: str | None = SECRET) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k != "DIGEST_SECRET"}
    if secret is not None:
        e["DIGEST_SECRET"] = secret
    return e


def csv(root: Path) -> bytes:
    return (root / "subscribers" / "daily.csv").read_bytes()


def changes(root: Path) -> list[tuple[str, str, str | None]]:
    """(reader, status, applied_at) of each recorded change, oldest first."""
    path = root / ".digest" / STATE_FILE
    if not path.exists():
        return []
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT reader, status, applied_at FROM status_changes ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


def click(url: str, email: str, secret: str = SECRET) -> httpx.Response:
    link = unsubscribe_url(url.rstrip("/"), secret, "daily", email)
    return httpx.post(link, content=ONE_CLICK, headers=FORM, timeout=30)


def listening(port: int) -> set[str]:
    """The local addresses (hex, as the kernel gives them) listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hexport = local.rsplit(":", 1)
            if state == "0A" and int(hexport, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_it_prints_its_address_binds_loopback_and_serves_the_lists_page(news: Path) -> None:
    with digest_serve(news / "digest.toml", env=env()) as server:
        assert server.url.startswith("http://127.0.0.1:") and server.port != 0
        if Path("/proc/net/tcp").exists():
            assert listening(server.port) == {"0100007F"}  # 127.0.0.1 only, no 0.0.0.0
        home = httpx.get(server.url, timeout=30)
        assert home.status_code == 200
        assert "The Daily Example" in home.text and "text/html" in home.headers["content-type"]
        assert "server" not in home.headers  # no version banner
        missing = httpx.get(server.url + "no/such/page", timeout=30)
        assert missing.status_code == 404 and "Traceback" not in missing.text
        assert server.stop(signal.SIGTERM) == 0
    assert "Traceback" not in server.stderr()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_exits_0_and_writes_the_click_it_just_answered(
    news: Path, sig: signal.Signals
) -> None:
    original = csv(news)
    with digest_serve(news / "digest.toml", "--flush-seconds", NEVER, env=env()) as server:
        assert httpx.get(server.url, timeout=30).status_code == 200
        answer = click(server.url, "ada@example.com")
        assert answer.status_code == 200 and "a***@example.com is unsubscribed" in answer.text
        assert csv(news) == original  # the flusher waits: only the stop can have written it
        assert changes(news) == [("ada@example.com", "unsubscribed", None)]
        code = server.stop(sig)
    assert code == 0, server.stderr()
    err = server.stderr()
    assert err.splitlines()[-1] == "digest serve: stopped"
    assert "Traceback" not in err
    data = csv(news).decode()
    assert data.startswith(
        HEADER + "ada@example.com,Ada Lovelace,unsubscribed,2026-01-02T03:04:05Z,2"
    )
    assert data.endswith(READERS.split("\n", 1)[1])  # the other rows, byte for byte
    ((reader, status, applied_at),) = changes(news)
    assert (reader, status) == ("ada@example.com", "unsubscribed") and applied_at is not None


def test_a_click_answered_survives_a_sigkill_of_the_server(news: Path) -> None:
    original = csv(news)
    with digest_serve(news / "digest.toml", "--flush-seconds", NEVER, env=env()) as server:
        answer = click(server.url, "grace@example.com")
        assert answer.status_code == 200
        code = server.stop(signal.SIGKILL)  # right after the answer: no shutdown, no flush
    assert code == -signal.SIGKILL
    assert "digest serve: stopped" not in server.stderr()
    assert csv(news) == original
    assert changes(news) == [("grace@example.com", "unsubscribed", None)]  # but it was kept
    listed = run_digest("subscribers", "list", "--config", str(news / "digest.toml"), env=env())
    assert listed.returncode == 0, listed.stderr
    status = {line.split("\t")[0]: line.split("\t")[1] for line in listed.stdout.splitlines()}
    assert status == {
        "ada@example.com": "subscribed",
        "grace@example.com": "unsubscribed",
        "alan@example.com": "unsubscribed",
    }
    lines = csv(news).decode().splitlines(keepends=True)
    before = original.decode().splitlines(keepends=True)
    assert lines[2].startswith("grace@example.com,,unsubscribed,,2")  # the command wrote it
    assert lines[:2] + lines[3:] == before[:2] + before[3:]


def test_without_digest_secret_it_warns_and_refuses_every_unsubscribe(news: Path) -> None:
    original = csv(news)
    with digest_serve(news / "digest.toml", "--flush-seconds", "0", env=env(None)) as server:
        answers = [
            click(server.url, "ada@example.com"),  # a link signed with some secret
            click(server.url, "ada@example.com", secret=""),  # one "signed" with none
            httpx.get(unsubscribe_url(server.url.rstrip("/"), "", "daily", "ada@example.com")),
        ]
        assert [a.status_code for a in answers] == [400, 400, 400]
        assert all("not valid" in a.text for a in answers)
        assert httpx.get(server.url, timeout=30).status_code == 200  # the rest still works
        assert server.stop() == 0
    assert "DIGEST_SECRET is not set" in server.stderr()
    assert changes(news) == []
    assert csv(news) == original


def test_a_port_in_use_is_a_one_line_error_not_a_traceback(news: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        r = run_digest(
            "serve", "--port", str(port), "--config", str(news / "digest.toml"), env=env()
        )
    assert r.returncode != 0
    assert "Traceback" not in r.stderr + r.stdout
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, r.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in errors[0]
    assert len([line for line in r.stderr.splitlines() if line.strip()]) <= 2  # and its hint
    assert "digest serve: http" not in r.stderr  # it never claimed to be serving


def test_help_explains_with_an_example() -> None:
    r = run_digest("serve", "--help")
    assert r.returncode == 0
    assert "Examples:" in r.stdout
    assert "digest serve --port" in r.stdout
    for option in ("--host", "--port", "--proxy-headers", "--forwarded-allow-ips"):
        assert option in r.stdout
    assert "--flush-seconds" in r.stdout and "DIGEST_SECRET" in r.stdout
