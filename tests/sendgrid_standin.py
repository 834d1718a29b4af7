"""A local stand-in for SendGrid's POST /v3/mail/send that validates like SendGrid, for the
sender's tests, the end-to-end send tests and the benchmark.

```python
with SendGridStandIn() as sg:                      # api_key=API_KEY, on 127.0.0.1:<free port>
    sender = SendGridSender(SendGridSettings(host=sg.url), API_KEY)
    sg.script(rate_limited(reset=time.time() + 5), server_error(), HANG, DROP)
    ...                                            # the next 4 requests get those answers,
    sg.requests                                    # then requests are validated and accepted;
    sg.accepted, sg.messages(), sg.addresses()     # what was seen, accepted, "delivered"
```

`DELIVER_THEN_DROP` / `DELIVER_THEN_HANG` judge and deliver the request, then never answer
(the case a sender must call Unknown). `SendGridStandIn(keep=False)` keeps no bodies, only
`accepted_recipients`, for the benchmark.

Unscripted requests are checked as SendGrid checks them: `Authorization: Bearer <key>` (else
401), JSON, from, subject, content (text/plain before text/html), 1 to 1000 personalizations,
each with a valid `to`, no address twice in the request, substitutions (strings) of at most
10,000 bytes per personalization, string headers that are not reserved, at most 10 categories,
an integer asm group, a `send_at` that is an integer at most 72 hours ahead. A refusal is a
400 with SendGrid-shaped errors (`{"errors": [{"message", "field", "help"}]}`); a good
request gets 202 and an `X-Message-Id` (200 and no id with sandbox mode on, and nothing
"delivered", as SendGrid does). The wording of the messages follows SendGrid's but is not
guaranteed to be word for word.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

from digest.compose.message import build_message

API_KEY = "SG.standin-key.0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH"
MAX_PERSONALIZATIONS = 1000
SUBSTITUTIONS_LIMIT = 10_000
MAX_BODY = 30 * 1024 * 1024
SEND_AT_LIMIT = 72 * 3600
RESERVED_HEADERS = {
    "x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type",
    "content-transfer-encoding", "to", "from", "subject", "reply-to", "cc", "bcc",
}  # fmt: skip
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"


@dataclass(frozen=True)
class Answer:
    """A scripted answer: a status (with JSON body and headers), or `hang` (read the request,
    never answer until the stand-in stops) or `drop` (read it, close without answering)."""

    status: int = 202
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    action: Literal["answer", "hang", "drop"] = "answer"


HANG = Answer(0, action="hang")
DROP = Answer(0, action="drop")
DELIVER_THEN_HANG = Answer(202, action="hang")
DELIVER_THEN_DROP = Answer(202, action="drop")
"""Judged as usual and, if good, delivered; then no answer: the mail went out unconfirmed."""


def _errors(*items: tuple[str, str | None]) -> dict[str, Any]:
    return {"errors": [{"message": m, "field": f, "help": _HELP} for m, f in items]}


def rate_limited(reset: float) -> Answer:
    """SendGrid's 429: X-RateLimit-Reset in epoch seconds, and no Retry-After."""
    headers = {"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0"}
    return Answer(
        429, _errors(("too many requests", None)), {**headers, "X-RateLimit-Reset": str(int(reset))}
    )


def server_error(status: int = 500) -> Answer:
    return Answer(status, _errors(("internal error", None)))


def bad_request(*messages: tuple[str, str | None]) -> Answer:
    return Answer(400, _errors(*messages))


@dataclass(frozen=True)
class Received:
    """One request as the stand-in saw it, and its verdict: `status` is what it answered or,
    when `answered` is false (hung or dropped), what it decided (0, or 202 if delivered)."""

    status: int
    body: Any
    authorization: str
    message_id: str | None = None
    answered: bool = True


class SendGridStandIn:
    """Serves on 127.0.0.1 in a thread; see the module's docstring. `keep=False` (for the
    benchmark) validates and counts but keeps no bodies."""

    def __init__(self, api_key: str = API_KEY, *, keep: bool = True) -> None:
        self.api_key = api_key
        self.keep = keep
        self.requests: list[Received] = []
        self.accepted: list[dict[str, Any]] = []
        self.accepted_recipients = 0
        self._script: list[Answer] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.standin = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.02)  # so `stop` is quick

    def start(self) -> SendGridStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> SendGridStandIn:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def script(self, *answers: Answer) -> None:
        """The next requests get these answers, in order, whatever they hold (a scripted 2xx
        counts as accepted), except `DELIVER_THEN_*`, which are judged first."""
        with self._lock:
            self._script.extend(answers)

    def messages(self) -> dict[str, EmailMessage]:
        """Each reader's message as SendGrid would deliver it, by address (the last copy).
        Rebuilding costs milliseconds a message: for many, use `addresses` and `message`."""
        return {address: rebuild(body, p) for address, body, p in self._deliveries()}

    def message(self, address: str) -> EmailMessage:
        """The last message delivered to one address (KeyError if none)."""
        found = [(body, p) for a, body, p in self._deliveries() if a == address]
        if not found:
            raise KeyError(address)
        return rebuild(*found[-1])

    def addresses(self) -> list[str]:
        """Every address of an accepted, delivering request, in order, repeats kept."""
        return [address for address, _, _ in self._deliveries()]

    def _deliveries(self) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
        with self._lock:
            bodies = list(self.accepted)
        for body in bodies:
            if not _sandbox(body):
                yield from ((p["to"][0]["email"], body, p) for p in body["personalizations"])

    def _next(self) -> Answer | None:
        with self._lock:
            return self._script.pop(0) if self._script else None

    def _record(self, received: Received, body: Any) -> None:
        with self._lock:
            self.requests.append(received if self.keep else Received(received.status, None, ""))
            people = body.get("personalizations") if isinstance(body, dict) else None
            if isinstance(people, list) and 200 <= received.status < 300:
                self.accepted_recipients += len(people)
                if self.keep:
                    self.accepted.append(body)

    def respond(self, authorization: str, raw: bytes) -> Answer:
        """The answer to one request: scripted, else judged as SendGrid would."""
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        scripted = self._next()
        if scripted is not None and scripted not in (DELIVER_THEN_HANG, DELIVER_THEN_DROP):
            answer = scripted
        else:
            answer = self._judge(authorization, raw, body)
            if scripted is not None and answer.status == 202:
                answer = replace(answer, action=scripted.action)
        received = Received(answer.status, body, authorization, answer.headers.get("X-Message-Id"))
        self._record(replace(received, answered=answer.action == "answer"), body)
        return answer

    def _judge(self, authorization: str, raw: bytes, body: Any) -> Answer:
        if authorization != f"Bearer {self.api_key}":
            msg = "The provided authorization grant is invalid, expired, or revoked"
            return Answer(401, _errors((msg, None)))
        if len(raw) > MAX_BODY:
            return Answer(413, _errors(("The request entity is too large", None)))
        if not isinstance(body, dict):
            return bad_request(("Bad Request", None))
        problems = validate(body)
        if problems:
            return bad_request(*problems)
        if _sandbox(body):
            return Answer(200)
        return Answer(202, headers={"X-Message-Id": secrets.token_urlsafe(16)})


class _Handler(BaseHTTPRequestHandler):
    server_version = "nginx"
    sys_version = ""

    def do_POST(self) -> None:
        standin: SendGridStandIn = self.server.standin  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/v3/mail/send":
            self._answer(Answer(404, _errors(("not found", None))))
            return
        answer = standin.respond(self.headers.get("Authorization", ""), raw)
        if answer.action == "hang":
            standin._release.wait()
        if answer.action != "answer":
            self.close_connection = True
            return
        self._answer(answer)

    def _answer(self, answer: Answer) -> None:
        data = json.dumps(answer.body).encode() if answer.body is not None else b""
        self.send_response(answer.status)
        for key, value in answer.headers.items():
            self.send_header(key, value)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read `requests`, not stderr."""


def _sandbox(body: dict[str, Any]) -> bool:
    settings = body.get("mail_settings")
    mode = settings.get("sandbox_mode") if isinstance(settings, dict) else None
    return isinstance(mode, dict) and mode.get("enable") is True


# --- validation, field by field -----------------------------------------------------------


def validate(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    """SendGrid's (message, field) refusals of a mail/send body; empty when it is good."""
    problems = _top(body)
    people = body.get("personalizations")
    if not isinstance(people, list) or not people:
        msg = "The personalizations field is required and must have at least one personalization."
        return [*problems, (msg, "personalizations")]
    if len(people) > MAX_PERSONALIZATIONS:
        msg = f"The personalizations field cannot have more than {MAX_PERSONALIZATIONS} items."
        problems.append((msg, "personalizations"))
    seen: set[str] = set()
    for i, p in enumerate(people):
        problems += _personalization(p, f"personalizations.{i}", seen)
    return problems


def _top(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    problems: list[tuple[str, str | None]] = []
    sender = body.get("from")
    if not isinstance(sender, dict) or not _EMAIL.match(str(sender.get("email", ""))):
        msg = "The from object must be provided for every email send. It is an object that "
        problems.append((msg + "requires the email parameter.", "from.email"))
    reply_to = body.get("reply_to", {"email": "x@x.x"})
    if not isinstance(reply_to, dict) or not _EMAIL.match(str(reply_to.get("email", ""))):
        problems.append(("Does not contain a valid address.", "reply_to.email"))
    if not isinstance(body.get("subject"), str) or not body["subject"]:
        problems.append(("The subject is required.", "subject"))
    problems += _content(body.get("content"))
    problems += _headers(body.get("headers", {}), "headers")
    categories = body.get("categories", [])
    if not isinstance(categories, list) or len(categories) > 10:
        problems.append(("You may not have more than 10 categories per request.", "categories"))
    elif not all(isinstance(c, str) and 0 < len(c) <= 255 for c in categories):
        problems.append(("Each category must be a string of at most 255 characters.", "categories"))
    asm = body.get("asm", {"group_id": 0})
    if not isinstance(asm, dict) or not isinstance(asm.get("group_id"), int):
        problems.append(("The asm group_id must be an integer.", "asm.group_id"))
    if "send_at" in body:
        problems += _send_at(body["send_at"])
    return problems


def _send_at(value: Any) -> list[tuple[str, str | None]]:
    """SendGrid takes a Unix time as an integer, at most 72 hours ahead."""
    if not isinstance(value, int) or isinstance(value, bool):
        return [("The send_at parameter must be an integer Unix timestamp.", "send_at")]
    if value > time.time() + SEND_AT_LIMIT:
        msg = "The send_at parameter cannot be more than 72 hours in the future."
        return [(msg, "send_at")]
    return []


def _content(content: Any) -> list[tuple[str, str | None]]:
    if not isinstance(content, list) or not content:
        msg = "Unless a valid template_id is provided, the content parameter is required."
        return [(msg, "content")]
    problems: list[tuple[str, str | None]] = []
    types = [c.get("type") if isinstance(c, dict) else None for c in content]
    for i, c in enumerate(content):
        if not isinstance(c, dict) or not isinstance(c.get("value"), str) or not c["value"]:
            msg = "The content value must be a string at least one character in length."
            problems.append((msg, f"content.{i}.value"))
    expected = [t for t in ("text/plain", "text/html") if t in types]
    if types[: len(expected)] != expected:
        msg = "If present, text/plain must be first, followed by text/html, then other content."
        problems.append((msg, "content"))
    return problems


def _headers(headers: Any, where: str) -> list[tuple[str, str | None]]:
    if not isinstance(headers, dict):
        return [("Invalid type. Expected: object.", where)]
    problems: list[tuple[str, str | None]] = []
    for key, value in headers.items():
        if key.casefold() in RESERVED_HEADERS:
            problems.append((f"The header {key} is reserved and cannot be set.", where))
        elif not isinstance(value, str):
            problems.append(("Invalid type. Expected: string.", f"{where}.{key}"))
    return problems


def _personalization(p: Any, where: str, seen: set[str]) -> list[tuple[str, str | None]]:
    to = p.get("to") if isinstance(p, dict) else None
    if not isinstance(to, list) or not to:
        msg = "The to array is required for all personalization objects."
        return [(msg, f"{where}.to")]
    problems: list[tuple[str, str | None]] = []
    for j, person in enumerate(to):
        address = str(person.get("email", "")) if isinstance(person, dict) else ""
        if not _EMAIL.match(address):
            problems.append(("Does not contain a valid address.", f"{where}.to.{j}.email"))
        elif address.casefold() in seen:
            msg = (
                "Each email address in the personalization block should be unique between to, "
                f"cc, and bcc. We found the first duplicate instance of [{address}] in the "
                f"{where}.to field."
            )
            problems.append((msg, f"{where}.to"))
        seen.add(address.casefold())
    problems += _substitutions(p.get("substitutions", {}), f"{where}.substitutions")
    problems += _headers(p.get("headers", {}), f"{where}.headers")
    return problems


def _substitutions(subs: Any, where: str) -> list[tuple[str, str | None]]:
    if not isinstance(subs, dict) or not all(isinstance(v, str) for v in subs.values()):
        return [("Substitutions must be an object of strings.", where)]
    size = sum(len(k.encode()) + len(v.encode()) for k, v in subs.items())
    if size > SUBSTITUTIONS_LIMIT:
        msg = "The total size of your substitutions may not exceed 10000 bytes per personalization."
        return [(msg, where)]
    return []


# --- what a reader receives --------------------------------------------------------------


def substitute(text: str, subs: dict[str, str]) -> str:
    """Every substitution key replaced by its value in one pass, as SendGrid fills a message."""
    if not subs:
        return text
    keys = sorted(subs, key=len, reverse=True)
    return re.sub("|".join(map(re.escape, keys)), lambda m: subs[m.group()], text)


def _mailbox(obj: dict[str, str]) -> str:
    return str(Address(display_name=obj.get("name", ""), addr_spec=obj["email"]))


def rebuild(body: dict[str, Any], p: dict[str, Any]) -> EmailMessage:
    """One personalization's message: the request's parts with its substitutions applied (to
    subject and both parts alike), its headers over the request's, To from `to[0]`."""
    subs = p.get("substitutions", {})
    parts = {c["type"]: substitute(c["value"], subs) for c in body["content"]}
    headers = {**body.get("headers", {}), **p.get("headers", {})}
    if "reply_to" in body:
        headers["Reply-To"] = _mailbox(body["reply_to"])
    return build_message(
        sender=_mailbox(body["from"]),
        to=_mailbox(p["to"][0]),
        subject=substitute(p.get("subject", body["subject"]), subs),
        text=parts.get("text/plain", ""),
        html=parts.get("text/html", ""),
        when=datetime.now(UTC),
        extra_headers=headers,
    )
