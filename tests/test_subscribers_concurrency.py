"""Two real processes changing one list at once, and a reader streaming it meanwhile."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from digest.subscribers import SubscriberList

WRITER = """
import sys
from digest.subscribers import SubscriberList
people = SubscriberList(sys.argv[1])
for i in range(int(sys.argv[3])):
    people.add(f"{sys.argv[2]}{i}@example.com", name=f"Reader {i}", topics=["world"])
"""


def test_two_processes_adding_500_each_leave_1000_rows(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("email,name,status,subscribed_at,unsubscribed_at,topics,timezone,keep\n")
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), prefix, "500"])
        for prefix in ("a", "b")
    ]
    people = SubscriberList(path)
    seen: list[int] = []
    while any(w.poll() is None for w in writers):
        problems: list = []
        seen.append(sum(1 for _ in people.iter_all(problems)))
        assert problems == []  # a reader never sees a half-written file
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    emails = [s.email for s in people.iter_all()]
    assert len(emails) == 1000
    assert set(emails) == {f"{p}{i}@example.com" for p in "ab" for i in range(500)}
    assert people.validate() == []
    assert seen == sorted(seen)  # each read saw a whole version, never going back
    assert [p.name for p in tmp_path.iterdir() if p.name != "list.csv.lock"] == ["list.csv"]
