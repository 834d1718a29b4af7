"""A local stand-in for SendGrid's suppression endpoints (GET, paged like SendGrid's), for
`digest subscribers sync-suppressions` with the real `sendgrid` client pointed at it.

```python
with SuppressionsStandIn({"bounces": ["a@example.com"], "group:42": ["b@example.com"]}) as sg:
    ...                   # sg.url for [delivery.sendgrid] host; sg.requests: (path, query)
```

Lists are named by kind (`bounces`, `blocks`, `spam_reports`, `invalid_emails`,
`unsubscribes`) or `group:<id>`. A suppression list answers `limit` (at most 500, as SendGrid)
items from `offset` as objects (`{"created", "email", ...}`); a group's answers every address
as a plain list of strings. A wrong key gets 401 with SendGrid's error shape.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_KEY = "SG.suppressions-standin.0123456789abcdefghijklmnopqrstuvwxyzABCD"


class SuppressionsStandIn:
    def __init__(
        self, lists: Mapping[str, Sequence[str]], api_key: str = API_KEY, *, max_page: int = 500
    ) -> None:
        self.lists = {k: list(v) for k, v in lists.items()}
        self.api_key = api_key
        self.max_page = max_page
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.standin = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> SuppressionsStandIn:
        self._thread.start()
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, authorization: str, target: str) -> tuple[int, Any]:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.requests.append((parts.path, query))
        if authorization != f"Bearer {self.api_key}":
            return 401, {"errors": [{"field": None, "message": "authorization required"}]}
        path = parts.path.removeprefix("/v3/")
        if path.startswith("asm/groups/") and path.endswith("/suppressions"):
            group = path.split("/")[2]
            return 200, list(self.lists.get(f"group:{group}", []))
        kind = path.removeprefix("suppression/")
        if not path.startswith("suppression/") or "/" in kind:
            return 404, {"errors": [{"field": None, "message": "resource not found"}]}
        limit = min(int(query.get("limit", self.max_page)), self.max_page)
        offset = int(query.get("offset", 0))
        page = self.lists.get(kind, [])[offset : offset + limit]
        return 200, [{"created": 1764576000, "email": e, "reason": "test"} for e in page]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        standin: SuppressionsStandIn = self.server.standin  # type: ignore[attr-defined]
        status, body = standin.answer(self.headers.get("Authorization", ""), self.path)
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass
