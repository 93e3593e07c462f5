"""Unanswered requests to order and offers past their expiry close every five minutes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from huey import crontab

from backoffice.services import service_orders

from .context import TaskContext
from .registry import task


@task(
    "service_orders.expire", schedule=crontab(minute="*/5"), title=_l("Expire requests to order and offers")
)
def expire(session, ctx: TaskContext) -> dict:
    """Guarded UPDATEs: a second or late run finds nothing left to change."""
    done = service_orders.expire_due(session)
    return {"requests": done.requests, "offers": done.offers}
