"""The marketplace's review sweep (hourly): customers whose appointment was 14 days ago and
who were not asked yet get the review request. Re-derived from `direct_request` with a
guarded stamp in the mail's transaction, so a lost, doubled or concurrent run asks once."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from huey import crontab

from backoffice.services import marketplace

from .context import TaskContext
from .registry import task


@task("marketplace.reviews", schedule=crontab(minute="17"), title=_l("Ask for reviews after appointments"))
def review_sweep(session, ctx: TaskContext) -> dict:
    base = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    return {"asked": marketplace.ask_due_reviews(session, review_url=f"{base}/c/reviews/")}
