"""All models; importing this package registers every table on FAB's metadata."""

from .addresses import Address, AddressTree, AddressType, Language, RegistrationSource, Salutation
from .articles import VAT_RATES, Article
from .audit import AuditEntry
from .customers import CustomerAccount, CustomerSignIn
from .downline import DownlineVisibility, PersonalDataExport
from .imports import ImportRun, ImportStatus
from .mail import MailStatus, OutboxMail
from .partners import Partner
from .tasks import Task, TaskStatus
from .teams import TeamInvitation, TeamMember
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
    "CustomerAccount",
    "CustomerSignIn",
    "MailStatus",
    "OutboxMail",
    "TeamInvitation",
    "TeamMember",
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
