"""The job store on a real SQLite file: dedup key, requeue after a crash, retention of old analyses."""

from __future__ import annotations

import time
from pathlib import Path

from frontends.web.config import Config, Tokens
from frontends.web.documents import folder
from frontends.web.service import Service
from frontends.web.store import Store


def _fields(capture_id: str, sha: str, owner: str = "o", dialect: str = "azure") -> dict[str, object]:
    return {
        "id": capture_id,
        "owner": owner,
        "sha256": sha,
        "name": f"{capture_id}.pcap",
        "size": 10,
        "allowlist": "",
        "allowlist_label": "",
        "allowlist_path": "",
        "dialect": dialect,
        "profile": "",
    }


def test_dedup_key_and_requeue(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "db.sqlite")
    first, new = store.add_capture(_fields("a", "s1"))
    assert new and first.status == "queued"
    again, new = store.add_capture(_fields("b", "s1"))
    assert not new and again.id == "a"
    assert store.add_capture(_fields("c", "s1", owner="other"))[1]  # another token: its own analysis
    assert store.add_capture(_fields("d", "s1", dialect="squid"))[1]  # other options: another analysis
    assert store.start("a") is not None and store.start("a") is None  # taken once
    store.set_progress("a", 5)
    reopened = Store(tmp_path / "db.sqlite")  # as a restarted server sees it
    assert reopened.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert reopened.requeue_running() == 1
    row = reopened.capture("a")
    assert row is not None and row.status == "queued" and row.progress == 0
    assert reopened.queued() == ["a", "c", "d"]


def test_retention_removes_old_analyses_and_unshared_files(tmp_path: Path) -> None:
    service = Service(Config(data=tmp_path, tokens=Tokens((b"x" * 16,)), workers=1, retention_days=30))
    try:
        store = service.store
        for capture_id, sha, dialect in (("old", "s1", "azure"), ("old2", "s2", "azure"), ("new", "s2", "squid")):
            assert store.add_capture(_fields(capture_id, sha, dialect=dialect))[1]
            folder(tmp_path, capture_id).mkdir(parents=True)
            (folder(tmp_path, capture_id) / "report.json").write_text("{}")
        for sha in ("s1", "s2"):
            service.capture_file("o", sha).parent.mkdir(parents=True, exist_ok=True)
            service.capture_file("o", sha).write_bytes(b"capture")
        store.db.execute("UPDATE captures SET created=? WHERE id IN ('old', 'old2')", [time.time() - 31 * 86400])
        assert service.clean() == (2, 0)
        assert store.capture("old") is None and store.capture("old2") is None and store.capture("new") is not None
        assert not folder(tmp_path, "old").exists() and folder(tmp_path, "new").exists()
        assert not service.capture_file("o", "s1").exists()
        assert service.capture_file("o", "s2").exists()  # still the capture of a kept analysis
    finally:
        service.close()


def test_a_database_of_an_older_server_gains_the_worker_column(tmp_path: Path) -> None:
    import sqlite3

    from frontends.web.store import _SCHEMA

    old = sqlite3.connect(tmp_path / "db.sqlite")
    # The schema as it was: without the worker_pid line.
    before = "\n".join(line for line in _SCHEMA.splitlines() if "worker_pid" not in line)
    old.executescript(before)
    old.execute(
        "INSERT INTO captures (id, owner, sha256, name, size, allowlist, allowlist_label, allowlist_path, dialect, "
        "profile, status, created) VALUES ('a', 'o', 's', 'a.pcap', 1, '', '', '', 'azure', '', 'queued', 0)"
    )
    old.commit()
    assert "worker_pid" not in {r[1] for r in old.execute("PRAGMA table_info(captures)")}
    old.close()
    store = Store.create(tmp_path / "db.sqlite")
    started = store.start("a", 4242)
    assert started is not None and started.worker_pid == 4242
