"""All models; importing this package registers every table on FAB's metadata."""

from .addresses import Address, AddressTree, AddressType, Language, RegistrationSource, Salutation
from .articles import VAT_RATES, Article
from .audit import AuditEntry
from .categories import Category
from .downline import DownlineVisibility, PersonalDataExport
from .imports import ImportRun, ImportStatus
from .partners import Partner
from .profiles import PartnerProfile, PostalCodeLocation, Service, ServicePackage
from .tasks import Task, TaskStatus
from .vouchers import (
    Invoice,
    InvoiceCounter,
    InvoiceKind,
    LineKind,
    Order,
    OrderLine,
    OrderStatus,
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
    "Category",
    "DownlineVisibility",
    "ImportRun",
    "ImportStatus",
    "Task",
    "TaskStatus",
    "Language",
    "Partner",
    "PartnerProfile",
    "PostalCodeLocation",
    "Service",
    "ServicePackage",
    "PersonalDataExport",
    "RegistrationSource",
    "Salutation",
    ]
