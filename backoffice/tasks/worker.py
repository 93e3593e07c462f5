"""The huey consumer for an app: `flask tasks worker` in production, a thread in tests."""

from __future__ import annotations

from flask import Flask
from huey.consumer import Consumer

from .queue import queue_for


class ThreadedConsumer(Consumer):
    """A consumer that can start outside the main thread (it leaves signals alone)."""

    def _set_signal_handlers(self):
        pass


def consumer(app: Flask, workers: int = 1, periodic: bool = True, cls=Consumer, **options) -> Consumer:
    # Poll an idle SQLite queue at least once a second: a user waits for the task page.
    return cls(queue_for(app).huey, workers=workers, periodic=periodic, worker_type="thread",
               initial_delay=0.1, max_delay=1.0, **options)
