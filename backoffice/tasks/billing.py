"""The monthly run of partners' statements as a scheduled task (the 15th, company time)."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from huey import crontab

from backoffice.services import monthly_invoice
from backoffice.services.billing import Period
from backoffice.services.vouchers import company_today

from .context import TaskContext
from .registry import task


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
            "already_billed": len(result.skipped)}
