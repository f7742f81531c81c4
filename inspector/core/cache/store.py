"""One dataset's on-disk record store: an SQLite file (WAL mode, one transaction per write).

Tables: ``meta`` (record layout version, dataset root), ``batches`` (one compressed blob of
records per scanned chunk), ``items`` (per file: its identity when it was read, which batch and
entry hold its record), ``memo`` (results computed from a whole scan, such as the leakage
findings, keyed by what they were computed from) and ``verdicts`` (the latest leakage search's
confirmed and rejected candidate pairs, which the next search reuses for unchanged images) and
``snapshot`` (the latest whole scan's merged result, in parts, keyed by its listing: cache/snapshot.py).

Every write is one short transaction, so a scan killed at any moment leaves the chunks it
committed, and a second process scanning the same dataset (the window and a CLI run at once)
only ever sees whole batches. A file that is not an SQLite database, is damaged or truncated,
or holds another record layout is moved out of the way and rebuilt; the caller is told why.
"""
from __future__ import annotations

import os
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Iterable

BUSY_TIMEOUT_S = 5.0   # how long a write waits for another process's transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches(id INTEGER PRIMARY KEY AUTOINCREMENT, keys BLOB NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS items(key BLOB PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    seen_ns INTEGER NOT NULL, batch INTEGER NOT NULL, entry INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS memo(key TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS verdicts(id INTEGER PRIMARY KEY CHECK (id = 0), data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS snapshot(part INTEGER PRIMARY KEY, key TEXT NOT NULL, data BLOB NOT NULL);
"""

# (key, size, mtime_ns, seen_ns, entry): an item as written with its batch
NewItem = tuple[bytes, int, int, int, int]
# (records blob, item list blob, live items) -> (blob, item list, items) to store instead, or None
Rewrite = Callable[[bytes, bytes, list[NewItem]], "tuple[bytes, bytes, list[NewItem]] | None"]


class StoreUnavailable(Exception):
    """The store cannot be used for this scan (locked by another program, unwritable folder)."""


def _sidecars(path: str) -> list[str]:
    return [path, path + "-wal", path + "-shm", path + "-journal"]


def _remove(path: str) -> None:
    for p in _sidecars(path):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


class RecordStore:
    def __init__(self, path: str, layout: str, root: str) -> None:
        """Open (creating or rebuilding as needed) the store at ``path`` for this record layout.
        ``self.message`` says why an existing file was not used; raises StoreUnavailable."""
        self.path, self.layout, self.root = path, layout, root
        self.message: str | None = None
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot create the cache folder: {exc.strerror or exc}") from exc
        try:
            self.db = self._connect_checked(layout, root)
        except sqlite3.OperationalError as exc:
            if _is_locked(exc):
                raise StoreUnavailable("the cache is locked by another program") from exc
            raise StoreUnavailable(f"the cache cannot be opened: {exc}") from exc

    @classmethod
    def existing(cls, path: str) -> "RecordStore":
        """An already valid store as it is (for its memo), without checks or rebuilding."""
        store = cls.__new__(cls)
        store.path, store.message = path, None
        try:
            store.db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            store.layout, store.root = dict(store.db.execute("SELECT key, value FROM meta")).get("layout", ""), ""
        except sqlite3.DatabaseError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return store

    def _connect_checked(self, layout: str, root: str) -> sqlite3.Connection:
        """No ``PRAGMA quick_check`` here: it reads the whole file (0.14 s of a 2.4 s reopen of
        100,000 images). What is read is checked instead: SQLite refuses a file that is not a
        database or is shorter than its header says (a truncated one) when it is first read, a
        damaged page raises DatabaseError when read (the caller rebuilds), and every value that is
        trusted is checksummed (record blobs, item lists, the stored result's parts and which
        record blobs it was made from, the findings memo, the verdicts) or checked against one
        (an item row must be named by its batch's item list)."""
        try:
            db = self._connect()
            found = dict(db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and _is_locked(exc):
                raise
            self.message = f"the cache was damaged ({exc}) and has been rebuilt"
            return self._rebuild(layout, root)
        if not found:  # a new file
            self._write_meta(db, layout, root)
        elif found.get("layout") != layout or found.get("root") != root:
            self.message = "the cache was written by another version of the program and has been rebuilt"
            with db:
                db.execute("DELETE FROM items")
                db.execute("DELETE FROM batches")
                db.execute("DELETE FROM memo")
                db.execute("DELETE FROM verdicts")
                db.execute("DELETE FROM snapshot")
            self._write_meta(db, layout, root)
        return db

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a crash loses at most the last commits
        db.executescript(_SCHEMA)
        return db

    def _rebuild(self, layout: str, root: str) -> sqlite3.Connection:
        _remove(self.path)
        db = self._connect()
        self._write_meta(db, layout, root)
        return db

    def rebuild(self, reason: str) -> None:
        """Replace a store found damaged while reading it by an empty one."""
        self.db.close()
        self.message = f"the cache was damaged ({reason}) and has been rebuilt"
        self.db = self._rebuild(self.layout, self.root)

    @staticmethod
    def _write_meta(db: sqlite3.Connection, layout: str, root: str) -> None:
        with db:
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                           [("layout", layout), ("root", root), ("created", str(time.time()))])

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------------- reading

    def items(self) -> list[tuple[bytes, int, int, int, int, int]]:
        """Every item row: (key, size, mtime_ns, seen_ns, batch, entry)."""
        return self.db.execute("SELECT key, size, mtime_ns, seen_ns, batch, entry FROM items").fetchall()

    def batch(self, batch_id: int) -> tuple[bytes, bytes] | None:
        """(records blob, item list blob) of one batch; ids are never reused (AUTOINCREMENT)."""
        return self.db.execute("SELECT data, keys FROM batches WHERE id = ?", (batch_id,)).fetchone()

    def batches(self, batch_ids: list[int]) -> dict[int, tuple[bytes, bytes]]:
        """id -> (records blob, item list blob) of those of these batches still stored."""
        return read_batches(self.db, batch_ids)

    def item_lists(self, batch_ids: list[int]) -> dict[int, bytes]:
        """id -> item list blob of those of these batches still stored (their records not read)."""
        return read_item_lists(self.db, batch_ids)

    # ------------------------------------------------------------------------- writing

    def put_batch(self, blob: bytes, keys: bytes, items: list[NewItem]) -> int:
        """Store one blob and point its items (key, size, mtime_ns, seen_ns, entry) at it; its id."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            cur = self.db.execute("INSERT INTO batches(keys, data) VALUES (?, ?)", (keys, blob))
            batch = cur.lastrowid
            self.db.executemany("INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?, ?)",
                                [(k, s, m, seen, batch, e) for k, s, m, seen, e in items])
        return batch

    def drop_items(self, keys: Iterable[bytes]) -> None:
        """Forget items (files that are gone) and every blob nothing points at any more."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("DELETE FROM items WHERE key = ?", [(k,) for k in keys])
            self.db.execute("DELETE FROM batches WHERE id NOT IN (SELECT DISTINCT batch FROM items)")

    def compact(self, batch_ids: list[int], rewrite: Rewrite) -> list[tuple[int, int, dict[int, int]]]:
        """Rewrite partly stale batches to hold only the entries items still point at, in one
        transaction (``rewrite`` gets a batch's blobs and live items, returns their replacement
        or None to keep it as it is). Returns, per batch rewritten, its old id, its new id and
        where each of its entries went (old entry -> new entry; dropped ones are missing)."""
        done = []
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for start in range(0, len(batch_ids), 500):  # within SQLite's limit of bound values
                ids = batch_ids[start:start + 500]
                live: dict[int, list[tuple[bytes, int, int, int, int]]] = defaultdict(list)
                marks = ",".join("?" * len(ids))
                for key, size, mtime, seen, batch, entry in self.db.execute(
                        f"SELECT * FROM items WHERE batch IN ({marks})", ids):
                    live[batch].append((key, size, mtime, seen, entry))
                for batch_id in ids:
                    row = self.batch(batch_id)
                    replacement = rewrite(row[0], row[1], live[batch_id]) if row and live[batch_id] else None
                    if replacement is None:
                        continue
                    blob, keys, items = replacement
                    self.db.executemany("DELETE FROM items WHERE key = ?", [(k,) for k, *_ in live[batch_id]])
                    self.db.execute("DELETE FROM batches WHERE id = ?", (batch_id,))
                    new = self.db.execute("INSERT INTO batches(keys, data) VALUES (?, ?)", (keys, blob)).lastrowid
                    self.db.executemany("INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?, ?)",
                                        [(k, s, m, seen, new, e) for k, s, m, seen, e in items])
                    was = {k: e for k, *_, e in live[batch_id]}
                    done.append((batch_id, new, {was[k]: e for k, *_, e in items if k in was}))
        return done

    @staticmethod
    def forget(path: str) -> None:
        """Empty one store in a transaction (a scan using it at the same time stays consistent)."""
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            try:
                with db:
                    db.execute("BEGIN IMMEDIATE")
                    for table in ("items", "batches", "memo", "verdicts", "snapshot"):
                        db.execute(f"DELETE FROM {table}")
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError) and _is_locked(exc):
                    raise StoreUnavailable("the cache is locked by another program") from exc
                db.close()
                _remove(path)  # damaged anyway: nothing in it is worth keeping
                return
            try:
                db.execute("VACUUM")  # give the space back; skipped while another process reads
            except sqlite3.OperationalError:
                pass
        finally:
            db.close()

    def memo_get(self, key: str) -> bytes | None:
        row = self.db.execute("SELECT data FROM memo WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def memo_put(self, key: str, data: bytes) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("DELETE FROM memo")  # only the latest: a memo is for this state of the dataset
            self.db.execute("INSERT INTO memo VALUES (?, ?)", (key, data))

    def verdicts_get(self) -> bytes | None:
        row = self.db.execute("SELECT data FROM verdicts").fetchone()
        return None if row is None else row[0]

    def verdicts_put(self, data: bytes) -> None:
        """The latest leakage search's pair verdicts (leakage/incremental.py), replacing the last."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("INSERT OR REPLACE INTO verdicts VALUES (0, ?)", (data,))

    def snapshot_key(self) -> str | None:
        """The key of the stored whole-scan result (part 0 is its header), None when there is none."""
        row = self.db.execute("SELECT key FROM snapshot WHERE part = 0").fetchone()
        return None if row is None else row[0]

    def snapshot_part(self, part: int, key: str) -> bytes | None:
        """One part of the stored whole-scan result, if it is still the one stored under ``key``."""
        row = self.db.execute("SELECT data FROM snapshot WHERE part = ? AND key = ?", (part, key)).fetchone()
        return None if row is None else row[0]

    def snapshot_put(self, key: str, parts: list[bytes]) -> None:
        """Replace the stored whole-scan result by these parts (header first), in one transaction."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("DELETE FROM snapshot")
            self.db.executemany("INSERT INTO snapshot VALUES (?, ?, ?)", [(k, key, p) for k, p in enumerate(parts)])

    def snapshot_drop(self, key: str) -> None:
        """Forget the stored whole-scan result made under ``key`` (not one stored since by another scan)."""
        with self.db:
            self.db.execute("DELETE FROM snapshot WHERE key = ?", (key,))

    def size_on_disk(self) -> int:
        return sum(os.path.getsize(p) for p in _sidecars(self.path) if os.path.exists(p))


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def read_batches(db: sqlite3.Connection, batch_ids: list[int]) -> dict[int, tuple[bytes, bytes]]:
    """id -> (records blob, item list blob) of those of these batches ``db`` still stores."""
    out = {}
    for start in range(0, len(batch_ids), 500):  # within SQLite's limit of bound values
        ids = batch_ids[start:start + 500]
        out.update((bid, (data, keys)) for bid, data, keys in db.execute(
            f"SELECT id, data, keys FROM batches WHERE id IN ({','.join('?' * len(ids))})", ids))
    return out


def read_item_lists(db: sqlite3.Connection, batch_ids: list[int]) -> dict[int, bytes]:
    """id -> item list blob of those of these batches ``db`` still stores (their records not read)."""
    out: dict[int, bytes] = {}
    for start in range(0, len(batch_ids), 500):  # within SQLite's limit of bound values
        ids = batch_ids[start:start + 500]
        out.update(db.execute(f"SELECT id, keys FROM batches WHERE id IN ({','.join('?' * len(ids))})", ids))
    return out
