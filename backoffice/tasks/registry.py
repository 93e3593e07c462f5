"""Task functions by stable name: a queue message names a kind, the worker looks it up here.

Modules that define task functions are listed in config `TASKS_MODULES` and imported by the
web process (so `submit` can refuse an unknown kind) and by every worker (so it can run it).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

FUNCTIONS: dict[str, Callable] = {}


class UnknownTaskKind(LookupError):
    pass


def task(name: str):
    """Register `fn(session, ctx, **params) -> dict` as the task kind `name`.

    A task may run more than once (its worker died, the task is picked up again), so a task
    function must be all-or-nothing: do its writes in the session it gets, which the runner
    commits with the task's result or rolls back on an exception.
    """

    def register(fn: Callable) -> Callable:
        known = FUNCTIONS.get(name)
        if known is not None and (known.__module__, known.__qualname__) != (fn.__module__, fn.__qualname__):
            raise ValueError(f"task kind {name!r} is already registered by {known.__module__}")
        FUNCTIONS[name] = fn
        return fn

    return register


def function(name: str) -> Callable:
    try:
        return FUNCTIONS[name]
    except KeyError:
        raise UnknownTaskKind(f"unknown task kind {name!r}") from None


def load_modules(names: Iterable[str]) -> None:
    for name in names:
        importlib.import_module(name)
