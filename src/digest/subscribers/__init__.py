"""Subscribers kept in CSV files, one per list: the API delivery and the unsubscribe page use.

from digest.subscribers import SubscriberList
people = SubscriberList(config.get_list("daily").subscribers)
for s in people.iter_active():          # streamed: each address once, rows never held
    ...
people.set_status("ada@example.com", "bounced")
"""

from __future__ import annotations

from .addresses import InvalidAddress, normalise
from .changes import StatusUpdate
from .charsets import AUTO, Encoding
from .export import export_rows, neutralise
from .import_file import InvalidRow
from .listfile import Problem, describe
from .merge import ImportReport
from .model import (
    BOUNCED,
    COLUMNS,
    COMPLAINED,
    STATUSES,
    SUBSCRIBED,
    UNSUBSCRIBED,
    Subscriber,
    format_time,
    parse_time,
    weaker,
)
from .store import Census, SubscriberList
from .typos import suggest

__all__ = [
    "AUTO",
    "BOUNCED",
    "COLUMNS",
    "COMPLAINED",
    "STATUSES",
    "SUBSCRIBED",
    "UNSUBSCRIBED",
    "Census",
    "Encoding",
    "ImportReport",
    "InvalidAddress",
    "InvalidRow",
    "Problem",
    "StatusUpdate",
    "Subscriber",
    "SubscriberList",
    "describe",
    "export_rows",
    "format_time",
    "neutralise",
    "normalise",
    "parse_time",
    "suggest",
    "weaker",
]
