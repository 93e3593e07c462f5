"""All models; importing this package registers every table on FAB's metadata."""

from .addresses import Address, AddressTree, AddressType, Language, RegistrationSource, Salutation
from .articles import VAT_RATES, Article
from .audit import AuditEntry
from .billing import (
    DebitStatus,
    Invoice,
    InvoiceCounter,
    InvoiceKind,
    InvoiceLine,
    InvoiceSeries,
    Payment,
    SepaDebit,
    SepaFile,
)
from .downline import DownlineVisibility, PersonalDataExport
from .imports import ImportRun, ImportStatus
from .orders import LineKind, Order, OrderLine, OrderStatus
from .partners import Partner
from .tasks import Task, TaskStatus
from .vouchers import (
    Redemption,
    VatMode,
    Voucher,
    VoucherCode,
    VoucherKind,
)

__all__ = [
    "VAT_RATES",
    "Address",
    "AddressTree",
    "Invoice",
    "InvoiceCounter",
    "InvoiceKind",
    "DebitStatus",
    "Payment",
    "SepaDebit",
    "SepaFile",
    "InvoiceLine",
    "InvoiceSeries",
    "LineKind",
    "Order",
    "OrderLine",
    "OrderStatus",
    "Redemption",
    "VatMode",
    "Voucher",
    "VoucherCode",
    "VoucherKind",
    "AddressType",
    "Article",
    "AuditEntry",
    "DownlineVisibility",
    "ImportRun",
    "ImportStatus",
    "Task",
    "TaskStatus",
    "Language",
    "Partner",
    "PersonalDataExport",
    "RegistrationSource",
    "Salutation",
    ]
