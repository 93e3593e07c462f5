"""All models; importing this package registers every table on FAB's metadata."""

from .addresses import Address, AddressTree, AddressType, Language, RegistrationSource, Salutation
from .articles import VAT_RATES, Article
from .audit import AuditEntry
from .billing import (
    DebitStatus,
    Invoice,
    InvoiceCounter,
    InvoiceDocument,
    InvoiceKind,
    InvoiceLine,
    InvoiceSeries,
    Payment,
    SepaDebit,
    SepaFile,
)
from .categories import Category
from .conversations import (
    AbuseReport,
    Conversation,
    ConversationRead,
    ConversationTag,
    ConversationTagging,
    CustomerBlock,
    Message,
    MessageFile,
    Party,
    StaffRead,
)
from .customers import CustomerAccount, CustomerSignIn
from .downline import AddressCounter, DownlineVisibility, PersonalDataExport
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
from .mail import MailAttachment, MailStatus, OutboxMail
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
    LeadMonth,
    LeadRequest,
    RequestStatus,
    Review,
)
from .orders import LineKind, Order, OrderLine, OrderStatus
from .partners import Partner
from .profiles import PartnerProfile, PostalCodeLocation, Service, ServicePackage
from .service_orders import (
    Audience,
    Offer,
    OfferState,
    OrderRequest,
    RequestPackage,
    RequestState,
    RequestToOrder,
    RequestWindow,
    ServiceOrder,
    ServiceOrderEvent,
    ServiceOrderStatus,
)
from .sessions import LoginGeneration
from .stored_files import StoredFile
from .tasks import Task, TaskStatus
from .teams import TeamInvitation, TeamMember
from .vouchers import Redemption, VatMode, Voucher, VoucherCode, VoucherKind

__all__ = [
    "InvoiceDocument", "MailAttachment", "StoredFile",
    "AbuseReport", "AccessStatus", "Actor", "Address", "AddressCounter", "AddressTree", "AddressType",
    "Article", "Audience",
    "AuditEntry", "BidChange", "BudgetMonth", "Category", "CategoryBid", "ChargeDispute", "Conversation",
    "ConversationRead", "ConversationTag", "ConversationTagging", "CustomerAccount", "CustomerBlock",
    "CustomerSignIn", "DebitStatus", "DirectRequest", "DirectStatus", "DisputeReason", "DisputeStatus",
    "DownlineVisibility", "ExpertJob", "ImportRun", "ImportStatus", "Invoice", "InvoiceCounter",
    "InvoiceKind", "InvoiceLine", "InvoiceSeries", "JobAssignment", "JobKind", "JobNote", "JobReview",
    "JobStatus", "JobTransition", "Language", "LeadCharge", "LeadMonth", "LeadRequest", "LineKind",
    "LoginGeneration",
    "MailStatus", "Message", "MessageFile", "Offer", "OfferState", "Order", "OrderLine", "OrderRequest",
    "OrderStatus", "OutboxMail", "Partner", "PartnerProfile", "Party", "Payment", "PersonalDataExport",
    "PostalCodeLocation", "Redemption", "RegistrationSource", "RequestPackage", "RequestState",
    "RequestStatus", "RequestToOrder", "RequestWindow", "Review", "Salutation", "SepaDebit", "SepaFile",
    "Service", "ServiceOrder", "ServiceOrderEvent", "ServiceOrderStatus", "ServicePackage", "StaffRead",
    "StoreAccessRequest", "Task", "TaskStatus", "TeamInvitation", "TeamMember", "VAT_RATES", "VatMode",
    "Voucher", "VoucherCode", "VoucherKind",
]
