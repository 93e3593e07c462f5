"""Threads released together, for the PostgreSQL race tests."""

from __future__ import annotations

import threading

from backoffice.extensions import db


def run_together(app, calls) -> list:
    """Run each `call(session)` in its own thread, app context and session, released at once
    by a barrier; what each returned, or the exception it ended with (the order they ended in)."""
    barrier = threading.Barrier(len(calls))
    outcomes = []
    lock = threading.Lock()

    def run(call):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                outcome = call(db.session)
            except Exception as exc:  # noqa: BLE001 - the caller judges it
                outcome = exc
            finally:
                db.session.remove()  # closing rolls back what an error left open
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes
