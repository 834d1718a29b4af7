"""The state database's schema, one migration per version (`PRAGMA user_version`). A migration
only adds: an older digest refuses a newer file instead of damaging it."""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

_SCHEMA_V1 = """
CREATE TABLE http_cache (
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    fetched_at TEXT NOT NULL,
    title TEXT,
    format TEXT,
    problems TEXT NOT NULL DEFAULT '[]',
    entries TEXT NOT NULL
);
CREATE TABLE items (
    id TEXT PRIMARY KEY,
    canonical_url TEXT,
    first_seen TEXT NOT NULL
);
CREATE INDEX items_by_url ON items (canonical_url);
CREATE TABLE source_health (
    location TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    status TEXT NOT NULL,
    last_success TEXT,
    items INTEGER NOT NULL DEFAULT 0,
    missing_dates INTEGER NOT NULL DEFAULT 0,
    teasers INTEGER NOT NULL DEFAULT 0,
    feed_url TEXT,
    problem TEXT
);
CREATE TABLE pages (
    url TEXT PRIMARY KEY,
    fetched_at TEXT NOT NULL,
    title TEXT,
    paragraphs TEXT NOT NULL,
    image TEXT
);
CREATE TABLE issues (
    list TEXT NOT NULL,
    issue_id TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (list, issue_id)
);
CREATE TABLE sent_items (
    list TEXT NOT NULL,
    item_id TEXT NOT NULL,
    issue_id TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (list, item_id)
);
"""

# Version 2: the send ledger. A row per issue (its rendered content frozen when the send starts,
# so a resumed send sends the same issue), a row per batch, and a row per issue and reader:
# pending → claimed (in a batch, committed before the request goes out) → sent | failed | unknown.
_SCHEMA_V2 = """
CREATE TABLE sends (
    list TEXT NOT NULL,
    issue_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    backend TEXT NOT NULL,
    letter TEXT NOT NULL,
    article_ids TEXT NOT NULL,
    PRIMARY KEY (list, issue_id)
);
CREATE TABLE batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    list TEXT NOT NULL,
    issue_id TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE TABLE deliveries (
    list TEXT NOT NULL,
    issue_id TEXT NOT NULL,
    reader TEXT NOT NULL,
    email TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'claimed', 'sent', 'failed', 'unknown')),
    batch INTEGER,
    message_id TEXT,
    reason TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (list, issue_id, reader)
);
CREATE INDEX deliveries_by_status ON deliveries (list, issue_id, status);
CREATE INDEX deliveries_by_batch ON deliveries (batch);
"""

# Version 3: status changes that came in from outside the CSV (an unsubscribe click in `digest
# serve`; later a provider's bounce), recorded before the answer and written into the list's
# file in batches. `applied_at` is set once the file has them; until then every send and every
# `digest subscribers` command sees them. Applied rows are kept a while, for the undo button.
_SCHEMA_V3 = """
CREATE TABLE status_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    list TEXT NOT NULL,
    reader TEXT NOT NULL,
    email TEXT NOT NULL,
    status TEXT NOT NULL,
    at TEXT NOT NULL,
    origin TEXT NOT NULL,
    applied_at TEXT,
    outcome TEXT
);
CREATE INDEX status_changes_pending ON status_changes (list, applied_at);
CREATE INDEX status_changes_by_reader ON status_changes (list, reader);
"""

# Version 4: what an article page says of its image and its site (the email's thumbnail and
# source line), kept with the page's text. Pages cached before have NULLs: no alt, no size.
_SCHEMA_V4 = """
ALTER TABLE pages ADD COLUMN image_alt TEXT;
ALTER TABLE pages ADD COLUMN image_width INTEGER;
ALTER TABLE pages ADD COLUMN image_height INTEGER;
ALTER TABLE pages ADD COLUMN site TEXT;
"""

# Version 5: one render per selection of stories (readers' topics, issue 15). `sends.issue`
# freezes the stories (JSON) so a resumed send can render a selection its first part
# never needed; `variants` keeps each selection's rendered letter once it is first used, and
# `deliveries.variant` which one a reader was given (NULL: the whole issue, `sends.letter`).
# `sends.nothing_for` counts the readers the last run skipped: nothing in their topics.
# Issues started before have NULL there: every reader of them gets the whole issue.
_SCHEMA_V5 = """
ALTER TABLE sends ADD COLUMN issue TEXT;
ALTER TABLE sends ADD COLUMN nothing_for INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN variant TEXT;
CREATE TABLE variants (
    list TEXT NOT NULL,
    issue_id TEXT NOT NULL,
    variant TEXT NOT NULL,
    article_ids TEXT NOT NULL,
    letter TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (list, issue_id, variant)
);
"""

# Version 6: what the provider told about sent messages (SendGrid's Event Webhook, issue 16).
# `provider_events` keeps each event's id a while, so a batch SendGrid posts again changes
# nothing twice; `issue_events` counts each issue's events by kind (delivered, open, bounce, …).
# A bounce, complaint or unsubscribe also becomes a row of `status_changes`, like a click.
_SCHEMA_V6 = """
CREATE TABLE provider_events (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    list TEXT NOT NULL,
    issue_id TEXT NOT NULL,
    event TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (provider, event_id)
);
CREATE INDEX provider_events_by_time ON provider_events (received_at);
CREATE TABLE issue_events (
    list TEXT NOT NULL,
    issue_id TEXT NOT NULL,
    event TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (list, issue_id, event)
);
"""

# Version 7: reader-local waves (issue 16). A reader-local issue is finished only once every
# reader's hour has come: `sends.waiting` counts the readers whose wave is still ahead after
# the last run, `next_wave` is that wave's time and `resume_at` when a run should take it up
# (earlier than the wave for a sender that holds mail until its `send_at`).
_SCHEMA_V7 = """
ALTER TABLE sends ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sends ADD COLUMN next_wave TEXT;
ALTER TABLE sends ADD COLUMN resume_at TEXT;
"""

# Version 8: politeness to hosts (issue 17). `source_places` keeps, per configured source URL,
# what its answers taught: where a feed moved for good (301, 308), that it is gone (410), the
# feed an HTML page links to (so the page is not asked each run), and its failures in a row
# with the time it may next be asked (the back-off of a source failing run after run).
_SCHEMA_V8 = """
CREATE TABLE source_places (
    location TEXT PRIMARY KEY,
    moved_to TEXT,
    moved_at TEXT,
    gone_at TEXT,
    feed_url TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    failing_since TEXT,
    next_try TEXT
);
"""

# Version 9: polling between issues (issue 17). `polled` keeps each entry a feed showed, by
# the source's configured address and the entry's id, with when it was first and last seen
# and whether only polls saw it (`seen_by` 'poll') or an issue's own reading did ('issue'); an
# issue takes the entries seen since the list's last one, so an item that rotated out of a
# busy feed between issues is not lost. `poll_times` says when each source was last read and
# the feed's own hint (`<ttl>`, `sy:updatePeriod`, `Cache-Control: max-age`) on how often to
# ask it. Rows of `polled` older than `keep_days` that no issue in that time used are pruned.
# IF NOT EXISTS, and `source_places` again: a state file from a build of main (df236cb) that
# numbered polling 8 reaches 9 with every table.
_SCHEMA_POLL = """
CREATE TABLE IF NOT EXISTS polled (
    location TEXT NOT NULL,
    id TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    seen_by TEXT NOT NULL CHECK (seen_by IN ('poll', 'issue')),
    entry TEXT NOT NULL,
    PRIMARY KEY (location, id)
);
CREATE INDEX IF NOT EXISTS polled_by_last_seen ON polled (last_seen);
CREATE TABLE IF NOT EXISTS poll_times (
    location TEXT PRIMARY KEY,
    read_at TEXT NOT NULL,
    hint_seconds INTEGER
);
""" + _SCHEMA_V8.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS")

MIGRATIONS = {
    1: _SCHEMA_V1,
    2: _SCHEMA_V2,
    3: _SCHEMA_V3,
    4: _SCHEMA_V4,
    5: _SCHEMA_V5,
    6: _SCHEMA_V6,
    7: _SCHEMA_V7,
    8: _SCHEMA_V8,
    9: _SCHEMA_POLL,
}
SCHEMA_VERSION = max(MIGRATIONS)
