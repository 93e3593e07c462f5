"""Downline work that runs as background tasks: large exports, the nightly integrity check."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from huey import crontab

from backoffice import transaction
from backoffice.tasks import TaskContext, task

from . import export, integrity, navigator
from . import new_customers as new_customer_list

log = logging.getLogger(__name__)

MIMETYPES = {"csv": "text/csv",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def export_file_name(address_id: int, fmt: str, level: int | None, new_customers: bool = False) -> str:
    if new_customers:
        return f"{_('new-customers')}-{address_id}.{fmt}"
    suffix = f"-level{level}" if level else ""
    return f"downline-{address_id}{suffix}.{fmt}"


@task("downline.export")
def export_task(session, ctx: TaskContext, address_id: int, fmt: str, level: int | None = None,
                viewer_root_id: int | None = None, tz: str = "UTC", new_customers: dict | None = None,
                total: int | None = None) -> dict:
    """The same export as the inline one, as a file on the task (logged the same way); with
    `new_customers` ({"sort", "desc"}) the new-customer navigator's list. The bar moves with
    each batch of rows written.

    Re-runnable: it writes nothing but the personal-data-export log row and the file.
    """
    # Checked again: the address may have left the partner's downline since the click.
    try:
        address = navigator.node(session, address_id, viewer_root_id)
    except navigator.NotInDownline:
        raise LookupError(_("Address %(id)s is not in this downline (any more).", id=address_id)) from None
    total = total if total is not None else address.downline_count
    ctx.progress(0, total, _("Exporting %(n)s addresses", n=total))
    if new_customers is not None:
        data = new_customer_list.export_file(session, address, fmt, viewer_root_id=viewer_root_id,
                                             tz=ZoneInfo(tz), progress=ctx.progress, **new_customers)
    else:
        data = export.export(session, address, fmt, level=level, viewer_root_id=viewer_root_id,
                             tz=ZoneInfo(tz), progress=ctx.progress)
    ctx.save_file(export_file_name(address_id, fmt, level, new_customers is not None), data, MIMETYPES[fmt])
    ctx.progress(total, total)
    return {"address_id": address_id, "format": fmt, "level": level, "bytes": len(data)}


@task("downline.check", schedule=crontab(minute="30", hour="2"), title=_l("Nightly downline integrity check"))
def check_task(session, ctx: TaskContext, limit: int = 50) -> dict:
    """`flask downline check` as a recorded task (nightly): problems go to the log and result."""
    report = integrity.check(session, limit=limit)
    transaction.discard(session)  # it only read; drops its planner settings before the result is written
    if report.ok:
        log.info("downline check: %s addresses, OK", report.checked)
    else:
        log.error("downline check: %s problems: %s", len(report.problems), "; ".join(report.problems))
    ctx.progress(report.checked, report.checked,
                 _("OK") if report.ok else _("%(n)s problems", n=len(report.problems)))
    return {"checked": report.checked, "ok": report.ok, "problems": report.problems}
