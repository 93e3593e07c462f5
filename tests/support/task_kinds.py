"""Task kinds used by the task tests; the subprocess worker's app comes from `create_app` here,
so importing this module registers them in that process too."""

from __future__ import annotations

import time
from pathlib import Path

from backoffice.models import Address
from backoffice.tasks import TaskContext, task


def _wait_for(flag: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not Path(flag).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"flag {flag} never appeared")
        time.sleep(0.05)


@task("test.count")
def count(session, ctx: TaskContext, n: int = 3, flag: str | None = None) -> dict:
    """Counts to n; waits for `flag` halfway (so a test can watch it run)."""
    for i in range(1, n + 1):
        ctx.progress(i, n, f"counted {i}")
        if flag and i == n // 2:
            _wait_for(flag)
    return {"counted": n, "url": "/tasks/"}


@task("test.file")
def file(session, ctx: TaskContext, text: str = "hello") -> dict:
    ctx.save_file("greeting.txt", text.encode(), "text/plain")
    return {"bytes": len(text)}


@task("test.fail")
def fail(session, ctx: TaskContext, last_name: str) -> dict:
    """Writes an address and a file, then breaks: neither may survive."""
    session.add(Address(last_name=last_name, email=f"{last_name}@example.org"))
    session.flush()
    ctx.save_file("half.txt", b"half", "text/plain")
    raise ValueError("the ledger does not balance")


@task("test.blocking_write")
def blocking_write(session, ctx: TaskContext, last_name: str, started: str, flag: str) -> dict:
    """Writes an address, says it started, then waits for `flag` before its commit."""
    session.add(Address(last_name=last_name, email=f"{last_name}@example.org"))
    session.flush()
    with open(started, "a") as runs:
        runs.write("started\n")
    _wait_for(flag)
    return {"wrote": last_name}


def create_app():
    """The app with these kinds registered: `flask --app tests.support.task_kinds:create_app tasks worker`."""
    from app import create_app as create

    return create()
