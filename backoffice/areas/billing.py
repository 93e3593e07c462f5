"""Partner billing: monthly statements, SEPA direct debits, returns and transfers, exports, and
the partner's own invoices (B2–B5)."""

from flask_babel import lazy_gettext as _l

from ..cli import billing_cli
from ..security import FINANCE, PARTNER_ROLE, STAFF
from ..tasks import billing as billing_tasks
from ..views.billing import BillingView, MyBillingView
from . import ALL, Area, Page

AREA = Area(
    name="billing",
    order=45,
    pages=(Page(BillingView, "Partner invoices", _l("Partner invoices"), "fa-file-text-o", "Desk",
                {FINANCE: ALL, STAFF: "can_index|can_statement|can_pdf|can_file"}),
           Page(MyBillingView, "My invoices", _l("My invoices"), "fa-file-text-o", "My area",
                {PARTNER_ROLE: "can_index|can_pdf|can_export"}, owner_only=True)),
    commands=(billing_cli,),
    task_modules=(billing_tasks,),
)
