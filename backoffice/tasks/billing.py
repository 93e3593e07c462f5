"""The monthly run of partners' statements as a scheduled task (the 15th, company time), and
the rendering of their PDFs, which mails each invoice once its PDF exists.

The run only writes invoices; when it has committed, it submits `billing.render_invoices`
tasks for the new invoices in chunks (several workers render in parallel) and returns: it
never waits for a PDF. The same task runs every five minutes without ids as the sweep that
renders what a lost task left (see `services.invoice_documents`).
"""

from __future__ import annotations

import logging
import uuid

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from huey import crontab
from sqlalchemy.orm import Session

from backoffice import transaction
from backoffice.extensions import db
from backoffice.services import invoice_documents, monthly_invoice
from backoffice.services.billing import Period
from backoffice.services.vouchers import company_today

from .context import TaskContext
from .mail import request_sending
from .registry import task
from .runner import submit, worker_id

log = logging.getLogger(__name__)

RENDER_KIND = "billing.render_invoices"
RENDER_CHUNK = 200
SWEEP_LIMIT = 500


def submit_rendering(invoice_ids: list[int], *, chunk: int | None = None) -> int:
    """Queue rendering tasks for committed invoices, `chunk` (`RENDER_CHUNK`) ids each; how
    many were queued. A task that cannot be queued is left to the sweep."""
    chunk = chunk or RENDER_CHUNK
    queued = 0
    for start in range(0, len(invoice_ids), chunk):
        ids = invoice_ids[start:start + chunk]
        try:
            with Session(db.engine) as side:
                submit(side, RENDER_KIND, {"invoice_ids": ids}, user_id=None,
                       title=str(_l("Invoice PDFs and mails")))
            queued += 1
        except Exception:
            log.exception("%s not submitted; the sweep renders the invoices", RENDER_KIND)
    return queued


# 05:00 UTC is 06:00 or 07:00 in Germany: always the 15th there.
@task("billing.monthly_run", schedule=crontab(day="15", hour="5", minute="0"),
      title=_l("Monthly partner invoices"))
def monthly_run(session, ctx: TaskContext, period: str | None = None) -> dict:
    """Bill the previous month (or `period`, YYYY-MM); safe to run again at any time."""
    today = company_today()
    month = Period.parse(period) if period else Period.before(today)
    ctx.progress(0, None, _("Collecting what to bill for %(month)s", month=f"{month.start:%m/%Y}"))
    result = monthly_invoice.run(session, month, today, current_app.config["PARTNER_INVOICE_DUE_DAYS"],
                                 progress=lambda done, total: ctx.progress(done, total))
    return {"period": f"{month.start:%Y-%m}", "partners": result.partners, "invoices": len(result.written),
            "already_billed": len(result.skipped), "rendering_tasks": submit_rendering(result.written)}


def render_invoices(session, invoice_ids: list[int] | None = None) -> dict:
    """Render, store and mail the given invoices, or (without ids) every one still pending."""
    worker = f"{worker_id()}:{uuid.uuid4().hex[:8]}"
    if invoice_ids is None:
        invoice_ids = invoice_documents.pending(session, limit=SWEEP_LIMIT)
        transaction.discard(session)
    result = invoice_documents.render(session, list(invoice_ids), worker, current_app.config)
    if result.mailed:
        request_sending()
    return {"rendered": result.rendered, "mailed": result.mailed, "skipped": result.skipped,
            "failed": result.failed}


@task(RENDER_KIND, schedule=crontab(minute="*/5"), title=_l("Invoice PDFs and mails"))
def render_task(session, ctx: TaskContext, invoice_ids: list[int] | None = None) -> dict:
    transaction.keep(session)
    return render_invoices(session, invoice_ids)
