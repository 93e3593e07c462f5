"""The embedded database's connection settings, and its WAL checkpoints in the background.

In WAL mode SQLite by default copies the log back into the database file inside the COMMIT
that pushes the log over 1,000 pages: whichever request commits then pays for everybody's
earlier writes (moving a 1,000-address subtree on a 1M tree: 58 ms as raw SQL, most of it
that checkpoint). Here the application's connections keep only a large safety threshold, and
one daemon thread per database file and process checkpoints (PASSIVE: it never waits for a
reader or writer) whenever the log has grown. The thread ends when the log has been gone for
a while and starts again with the next connection.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time

SAFETY_PAGES = 16_384            # the log's bound when no checkpointer runs: 64 MiB of 4 KiB pages
CHECKPOINT_BYTES = 4 * 2**20     # checkpoint once the log holds this much
INTERVAL_SECONDS = 0.5
IDLE_SECONDS = 30                # no log file this long: the thread ends

_threads: dict[str, threading.Thread] = {}
_lock = threading.Lock()


def configure(connection: sqlite3.Connection) -> None:
    """Foreign keys enforced as on PostgreSQL (SQLite leaves them off unless every connection
    asks; the migrations turn them off for their own connection, see migrations/env.py), WAL
    (readers never wait for the import or billing writer), NORMAL sync (in WAL mode a crash
    cannot corrupt the file; a power cut may lose the last commits), a page cache and a memory
    map big enough for the address indexes of a million-row tree."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-131072")  # KiB: 128 MiB
    cursor.execute("PRAGMA mmap_size=1073741824")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SAFETY_PAGES}")
    path = next((row[2] for row in cursor.execute("PRAGMA database_list") if row[1] == "main"), "")
    cursor.close()
    if path:  # not an in-memory database
        start_checkpointer(path)


def start_checkpointer(path: str) -> None:
    with _lock:
        thread = _threads.get(path)
        if thread is None or not thread.is_alive():
            thread = threading.Thread(target=_checkpoint_loop, args=(path,), daemon=True,
                                      name=f"sqlite-checkpoint {os.path.basename(path)}")
            _threads[path] = thread
            thread.start()


def _checkpoint_loop(path: str) -> None:
    wal, idle_since = path + "-wal", time.monotonic()
    try:
        while True:
            time.sleep(INTERVAL_SECONDS)
            try:
                size = os.path.getsize(wal)
            except OSError:
                if time.monotonic() - idle_since > IDLE_SECONDS:
                    return
                continue
            idle_since = time.monotonic()
            if size < CHECKPOINT_BYTES:
                continue
            # A fresh connection each time: holding one open would keep the log alive forever.
            try:
                connection = sqlite3.connect(path, timeout=0)
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                finally:
                    connection.close()
            except sqlite3.Error:
                pass  # busy or gone: the next round tries again
    finally:
        with _lock:
            if _threads.get(path) is threading.current_thread():
                del _threads[path]
