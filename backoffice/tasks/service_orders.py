"""Unanswered requests to order and offers past their expiry close every five minutes; a day
before, the partner (request) or the customer (offer) is reminded once."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from huey import crontab

from backoffice.services import service_orders

from .context import TaskContext
from .registry import task


@task(
    "service_orders.expire",
    schedule=crontab(minute="*/5"),
    title=_l("Expire requests to order and offers and send reminders"),
)
def expire(session, ctx: TaskContext) -> dict:
    """Guarded UPDATEs: a second or late run finds nothing left to change."""
    done = service_orders.expire_due(session)
    reminded = service_orders.remind_due(session)
    return {
        "requests": done.requests,
        "offers": done.offers,
        "reminded_requests": reminded.requests,
        "reminded_offers": reminded.offers,
    }
