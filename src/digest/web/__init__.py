"""`digest serve`: the small web app beside a newsletter (see `app`).

- `/` the lists, their readers and recent issues; `/preview/<list>` the next issue;
- `/issues/<id>` and `/archive/<list>` (with an Atom feed) the sent issues, from the ledger;
- `/unsubscribe` the one-click link of every message (RFC 8058), recorded in the state at once
  and written into the CSV files in batches (`flusher`).

Like the command line, it turns errors into answers; it calls `pipeline` and `subscribers`.
"""

from __future__ import annotations

from .app import create_app
from .flusher import Flusher
from .site import Site

__all__ = ["Flusher", "Site", "create_app"]
