"""All models; importing this package registers every table on FAB's metadata."""

from .addresses import Address, AddressTree, AddressType, Language, RegistrationSource, Salutation
from .articles import VAT_RATES, Article
from .audit import AuditEntry
from .billing import Invoice, InvoiceCounter, InvoiceKind, InvoiceSeries
from .downline import DownlineVisibility, PersonalDataExport
from .imports import ImportRun, ImportStatus
from .orders import LineKind, Order, OrderLine, OrderStatus
from .partners import Partner
from .sessions import LoginGeneration
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
    "InvoiceSeries",
    "LineKind",
    "LoginGeneration",
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
