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
from .categories import Category
from .conversations import Conversation, CustomerBlock, Message, Party
from .customers import CustomerAccount, CustomerSignIn
from .downline import DownlineVisibility, PersonalDataExport
from .imports import ImportRun, ImportStatus
from .jobs import (
    AccessStatus,
    Actor,
    ExpertJob,
    JobAssignment,
    JobKind,
    JobNote,
    JobReview,
    JobStatus,
    JobTransition,
    StoreAccessRequest,
)
from .mail import MailStatus, OutboxMail
from .marketplace import (
    BidChange,
    BudgetMonth,
    CategoryBid,
    ChargeDispute,
    DirectRequest,
    DirectStatus,
    DisputeReason,
    DisputeStatus,
    LeadCharge,
    LeadRequest,
    RequestStatus,
    Review,
)
from .orders import LineKind, Order, OrderLine, OrderStatus
from .partners import Partner
from .profiles import PartnerProfile, PostalCodeLocation, Service, ServicePackage
from .sessions import LoginGeneration
from .tasks import Task, TaskStatus
from .teams import TeamInvitation, TeamMember
from .vouchers import Redemption, VatMode, Voucher, VoucherCode, VoucherKind

__all__ = [
    "AccessStatus", "Actor", "ExpertJob", "JobAssignment", "JobKind", "JobNote", "JobReview", "JobStatus",
    "JobTransition", "StoreAccessRequest",
    "Address", "AddressTree", "AddressType", "Article", "AuditEntry", "BidChange", "BudgetMonth",
    "Category", "CategoryBid", "ChargeDispute", "Conversation", "CustomerAccount", "CustomerBlock",
    "CustomerSignIn", "DebitStatus", "Message", "Party",
    "DirectRequest", "DirectStatus", "DisputeReason", "DisputeStatus", "DownlineVisibility", "ImportRun",
    "ImportStatus", "Invoice", "InvoiceCounter", "InvoiceKind", "InvoiceLine", "InvoiceSeries", "Language",
    "LeadCharge", "LeadRequest", "LineKind", "LoginGeneration", "MailStatus", "Order", "OrderLine",
    "OrderStatus", "OutboxMail", "Partner", "PartnerProfile", "Payment", "PersonalDataExport",
    "PostalCodeLocation", "Redemption", "RegistrationSource", "RequestStatus", "Review", "Salutation",
    "SepaDebit", "SepaFile", "Service", "ServicePackage", "Task", "TaskStatus", "TeamInvitation",
    "TeamMember", "VAT_RATES", "VatMode", "Voucher", "VoucherCode", "VoucherKind",
]
