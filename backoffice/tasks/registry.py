"""Task kinds by stable name: a queue message names a kind, the worker looks it up here.

A module that defines tasks registers them when it is imported; the app factory imports
every such module, so the web process (`submit` refuses an unknown kind) and every worker
(it must find the function, and the queue schedules the kinds that have a schedule) know
the same kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

KINDS: dict[str, TaskKind] = {}


class UnknownTaskKind(LookupError):
    pass


@dataclass(frozen=True)
class TaskKind:
    name: str
    function: Callable
    # A huey schedule (`crontab(...)`, times in UTC): the queue submits the task on it.
    schedule: Callable | None = None
    # What a scheduled or cron-started run is called on the task pages.
    title: str | None = None


def task(name: str, *, schedule: Callable | None = None, title: str | None = None):
    """Register `fn(session, ctx, **params) -> dict` as the task kind `name`.

    A task may run more than once (its worker died, the task is picked up again), so a task
    function must be all-or-nothing: do its writes in the session it gets, which the runner
    commits with the task's result or rolls back on an exception.
    """

    def register(fn: Callable) -> Callable:
        known = KINDS.get(name)
        if known is not None and ((known.function.__module__, known.function.__qualname__)
                                  != (fn.__module__, fn.__qualname__)):
            raise ValueError(f"task kind {name!r} is already registered by {known.function.__module__}")
        KINDS[name] = TaskKind(name, fn, schedule, title)
        return fn

    return register


def kind(name: str) -> TaskKind:
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownTaskKind(f"unknown task kind {name!r}") from None


def function(name: str) -> Callable:
    return kind(name).function


def scheduled() -> list[TaskKind]:
    return [entry for entry in KINDS.values() if entry.schedule is not None]
