"""Personal data of one address (GDPR, A8): everything we store about it, its erasure, and
when an address may be deleted at all.

- `personal_data` collects master data, consents, the partner profile, the customer
  account's store, orders with their lines, invoices, voucher redemptions, the customer's
  service orders (with their steps), requests to order and the custom offers made to it,
  its conversations with their messages, the files it sent in them, its abuse reports and
  the partners that blocked it, its marketplace requests (with the partners they went to)
  and expert jobs, its reviews, the mails to its addresses, audit entries and the position
  in the sponsor tree as plain values; `as_json` and `as_xlsx` write them for the person.
  Marketplace requests and lead jobs are sent without an account too: those with the
  address's e-mail address count as its own.
- `erase` anonymises the personal fields and keeps what must stay: invoices with their
  legally required data (buyer name and address, amounts; commercial and tax law keep
  them for years), orders and redemptions as bookkeeping, and the node in the tree, so
  the downline stays where it is under an anonymous node. Partner profile, SEPA data and
  the customer account's store are cleared, the linked login deactivated and its sessions
  ended. The erasure is audited with who and why.
- Service orders, requests to order and offers stay (they are the partner's bookkeeping
  too), but what the customer wrote into them and into their conversations is anonymised
  like the address (`_erase_customer_texts`): a request's needs, the customer's
  cancellation reasons and step notes, the conversations' requirements, contact name and
  store, and the customer's messages. What the partner wrote (offers, the agreed scope,
  the partner's messages and declines) stays. The files the customer sent in conversations
  are deleted, rows and bytes (`message_files.discard`, after the commit), so no download
  finds them; an abuse report keeps its row (staff may still read the conversation), the
  customer's reason goes. A partner's block stays: it protects the partner.
- Marketplace requests keep their rows, the partners' direct requests and the charges
  (billed and disputed as before); the customer's name, e-mail, phone, description and
  dates go. The postal code stays: an area, not a person, and the charge's receipt and an
  "outside my area" dispute rest on it. Requests still open are closed (no partner is
  charged for a request without contact data), and direct requests not yet asked for a
  review count as asked (nobody mails the erased customer). Reviews keep their stars, the
  partner's rating; their text and author's name go, and so do the texts of expert jobs
  (requirements, business, store, name, contact data) and the customer's decline reasons
  on them.
- Mails to the person's addresses keep kind, dates, status and subject; recipient and
  bodies go, and a mail still waiting is cancelled (`mail.erase_mails_to`).
- `refuse_hard_delete` says why an address cannot be deleted: a partner's, one with
  orders, service orders (requests, offers), invoices, redemptions, conversations, expert
  jobs, a downline or vouchers reserved for it (erase it instead).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask_appbuilder.security.sqla.models import User
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from ..errors import Conflict, NotFound, RuleViolations
from ..models import (
    AbuseReport,
    Actor,
    Address,
    AuditEntry,
    Conversation,
    CustomerAccount,
    CustomerBlock,
    CustomerSignIn,
    DirectRequest,
    ExpertJob,
    Invoice,
    JobAssignment,
    JobKind,
    JobReview,
    JobStatus,
    JobTransition,
    LeadRequest,
    Message,
    MessageFile,
    Offer,
    Order,
    OrderRequest,
    OutboxMail,
    Partner,
    Party,
    Redemption,
    RequestStatus,
    Review,
    ServiceOrder,
    ServiceOrderEvent,
    Voucher,
    VoucherCode,
)
from ..models.types import utcnow
from . import mail, message_files
from .master_data import held_by, points_at
from .sessions import end_sessions

MASTER_FIELDS = ["id", "type", "salutation", "first_name", "last_name", "company", "email", "phone",
                 "street", "postal_code", "city", "country", "language", "registration_source",
                 "registered_at", "first_order_at", "external_key", "created_at", "updated_at"]
CONSENT_FIELDS = ["consent_contact_by_sponsor", "consent_marketing"]
PROFILE_FIELDS = ["subdomain", "profile_text", "notification_email", "time_zone", "available",
                  "iban", "bic", "mandate_reference", "mandate_date"]
# Cleared on erasure; `last_name` (required) becomes a placeholder.
ERASED_FIELDS = ["salutation", "first_name", "company", "email", "phone", "street", "postal_code",
                 "city", "external_key"]
ERASED_PROFILE_FIELDS = ["profile_text", "notification_email", "iban", "bic", "picture"]
ERASED_NAME = "—"
SERVICE_ORDER_FIELDS = ["id", "partner_id", "service_id", "package_id", "offer_id", "title", "scope", "gross",
                        "vat_rate", "net", "vat", "delivery_days", "status", "created_at", "accepted_at",
                        "due_at", "delivered_at", "completed_at", "cancelled_at", "cancelled_by",
                        "cancel_reason"]
SERVICE_ORDER_EVENT_FIELDS = ["from_status", "to_status", "by", "note", "at"]
REQUEST_FIELDS = ["id", "partner_id", "service_id", "package_id", "conversation_id", "needs", "wished_start",
                  "state", "created_at", "answer_due_at", "answered_at", "decline_message", "closed_at"]
OFFER_FIELDS = ["id", "partner_id", "conversation_id", "request_id", "service_id", "package_id", "scope",
                "price", "delivery_days", "expires_at", "state", "created_at", "decided_at"]
ACCOUNT_FIELDS = ["store_name", "store_url", "created_at", "last_sign_in_at"]
CONVERSATION_FIELDS = ["id", "partner_id", "service_id", "requirements", "contact_name", "store_name",
                       "store_url", "created_at", "declined_at", "declined_by", "decline_reason"]
MESSAGE_FIELDS = ["sender", "body", "created_at"]
MESSAGE_FILE_FIELDS = ["id", "file_name", "content_type", "size", "created_at"]
LEAD_REQUEST_FIELDS = ["id", "category_id", "description", "preferred_dates", "postal_code", "customer_name",
                       "email", "phone", "language", "status", "created_at", "confirmed_at"]
DIRECT_REQUEST_FIELDS = ["partner_id", "status", "created_at", "appointment_on"]
REVIEW_FIELDS = ["id", "partner_id", "stars", "text", "author_name", "created_at"]
JOB_FIELDS = ["id", "kind", "category_id", "service_id", "requirements", "business_info", "store_name",
              "store_url", "priority_time", "priority_cost", "priority_quality", "postal_code",
              "merchant_name", "contact_email", "contact_phone", "language", "created_at"]
JOB_TRANSITION_FIELDS = ["from_status", "to_status", "actor", "at", "reason"]
MAIL_FIELDS = ["kind", "created_at", "status", "subject", "recipient", "sent_at"]
# Sections that are lists of records: a sheet with a header row even for a single record.
LIST_SECTIONS = ("orders", "service_orders", "order_requests", "offers", "conversations", "message_files",
                 "abuse_reports", "blocks", "lead_requests", "reviews", "expert_jobs", "mails")


@dataclass(frozen=True)
class Erasure:
    address_id: int
    fields_cleared: int
    invoices_kept: int
    logins_ended: int
    # rows of service orders, requests, steps, conversations, messages, abuse reports,
    # marketplace requests, reviews, expert jobs and their declines
    texts_erased: int = 0
    files_deleted: int = 0
    mails_erased: int = 0


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value


def _row(obj, fields) -> dict:
    return {name: _plain(getattr(obj, name, None)) for name in fields}


def _address(session: Session, address_id: int) -> Address:
    address = session.get(Address, address_id)
    if address is None:
        raise NotFound("unknown_address", _("There is no address with this number."))
    return address


def personal_data(session: Session, address_id: int) -> dict:
    """Everything stored about the address, as JSON-ready plain values."""
    address = _address(session, address_id)
    partner = session.execute(select(Partner).where(Partner.address_id == address_id)).scalar_one_or_none()
    orders = session.execute(select(Order).where(Order.address_id == address_id).order_by(Order.id)).scalars()
    order_rows = []
    order_ids = []
    for order in orders:
        order_ids.append(order.id)
        row = _row(order, ["id", "external_order_id", "status", "placed_at", "cancelled_at",
                           "subtotal_gross", "discount", "total_gross", "total_net", "total_vat"])
        row["lines"] = [_row(line, ["position", "kind", "article_no", "name", "quantity", "unit_gross",
                                    "vat_rate", "line_gross"]) for line in order.lines]
        order_rows.append(row)
    invoice_filter = [Invoice.order_id.in_(order_ids)] if order_ids else []
    if partner is not None:
        invoice_filter.append(Invoice.partner_id == partner.id)
    invoices = session.execute(select(Invoice).where(or_(*invoice_filter)).order_by(Invoice.id)).scalars() \
        if invoice_filter else []
    redemptions = session.execute(select(Redemption).where(Redemption.address_id == address_id)
                                  .order_by(Redemption.id)).scalars()
    account = session.scalar(select(CustomerAccount).where(CustomerAccount.address_id == address_id))
    audit = session.execute(select(AuditEntry).where(AuditEntry.address_id == address_id)
                            .order_by(AuditEntry.id)).scalars()
    tree = address.tree
    return {
        "master_data": _row(address, MASTER_FIELDS),
        "consents": _row(address, CONSENT_FIELDS),
        "partner_profile": _row(partner, PROFILE_FIELDS) if partner is not None else None,
        "customer_account": _row(account, ACCOUNT_FIELDS) if account is not None else None,
        "orders": order_rows,
        "invoices": [_row(i, ["series", "number", "kind", "issued_at", "delivery_date", "buyer_name",
                              "buyer_address", "total_net", "total_vat", "total_gross"]) for i in invoices],
        "redemptions": [_row(r, ["order_id", "amount", "was_new_customer", "redeemed_at", "released_at"])
                        for r in redemptions],
        **_service_orders(session, address_id),
        **_conversations(session, address_id),
        **_marketplace(session, address_id, address.email),
        "mails": [_row(m, MAIL_FIELDS) for m in session.scalars(
            select(OutboxMail)
            .where(func.lower(OutboxMail.recipient).in_(_mailboxes(session, address, partner)))
            .order_by(OutboxMail.id))],
        "audit_entries": [_row(e, ["occurred_at", "actor_label", "entity", "field", "old_value",
                                   "new_value", "reason"]) for e in audit],
        "downline_position": {
            "sponsor_id": address.sponsor_id,
            "depth": getattr(tree, "depth", None),
            "firstline_count": address.firstline_count,
            "downline_count": address.downline_count,
        },
    }


def _service_orders(session: Session, address_id: int) -> dict:
    """The address as a customer of partners' services: its orders with their steps, its
    requests to order and the offers made to it (three queries and one for all steps)."""
    orders = session.scalars(
        select(ServiceOrder).where(ServiceOrder.customer_id == address_id).order_by(ServiceOrder.id)).all()
    steps: dict[int, list[dict]] = {order.id: [] for order in orders}
    if steps:
        events = select(ServiceOrderEvent).where(ServiceOrderEvent.order_id.in_(list(steps)))
        for event in session.scalars(events.order_by(ServiceOrderEvent.id)):
            steps[event.order_id].append(_row(event, SERVICE_ORDER_EVENT_FIELDS))
    requests = session.scalars(
        select(OrderRequest).where(OrderRequest.customer_id == address_id).order_by(OrderRequest.id))
    offers = session.scalars(select(Offer).where(Offer.customer_id == address_id).order_by(Offer.id))
    return {
        "service_orders": [dict(_row(o, SERVICE_ORDER_FIELDS), steps=steps[o.id]) for o in orders],
        "order_requests": [_row(r, REQUEST_FIELDS) for r in requests],
        "offers": [_row(o, OFFER_FIELDS) for o in offers],
    }


def _conversations(session: Session, address_id: int) -> dict:
    """The address's conversations with their messages, the files it sent in them, its abuse
    reports, and the partners that blocked it (when; the reason is the partner's note)."""
    talks = session.scalars(select(Conversation).where(Conversation.customer_id == address_id)
                            .order_by(Conversation.id)).all()
    messages: dict[int, list[dict]] = {talk.id: [] for talk in talks}
    if messages:
        for message in session.scalars(select(Message).where(Message.conversation_id.in_(list(messages)))
                                       .order_by(Message.id)):
            messages[message.conversation_id].append(_row(message, MESSAGE_FIELDS))
    files = session.execute(
        select(MessageFile, Message.conversation_id).join(Message, Message.id == MessageFile.message_id)
        .where(MessageFile.id.in_(_own_files(address_id))).order_by(MessageFile.id)).all()
    reports = session.scalars(select(AbuseReport).where(AbuseReport.id.in_(_own_reports(address_id)))
                              .order_by(AbuseReport.id))
    blocks = session.scalars(select(CustomerBlock).where(CustomerBlock.customer_id == address_id)
                             .order_by(CustomerBlock.blocked_at))
    return {
        "conversations": [dict(_row(t, CONVERSATION_FIELDS), messages=messages[t.id]) for t in talks],
        "message_files": [dict(_row(f, MESSAGE_FILE_FIELDS), conversation_id=conversation_id)
                          for f, conversation_id in files],
        "abuse_reports": [_row(r, ["conversation_id", "reason", "created_at"]) for r in reports],
        "blocks": [_row(b, ["partner_id", "blocked_at"]) for b in blocks],
    }


def _marketplace(session: Session, address_id: int, email: str | None) -> dict:
    """The address's marketplace requests with the partners they went to, its expert jobs
    with each partner's course, and its reviews of both."""
    requests = session.scalars(
        select(LeadRequest).where(LeadRequest.id.in_(_own_lead_requests(address_id, email)))
        .order_by(LeadRequest.id)).all()
    directs: dict[int, list[dict]] = {r.id: [] for r in requests}
    if directs:
        for direct in session.scalars(select(DirectRequest).where(DirectRequest.request_id.in_(list(directs)))
                                      .order_by(DirectRequest.id)):
            directs[direct.request_id].append(_row(direct, DIRECT_REQUEST_FIELDS))
    jobs = session.scalars(select(ExpertJob).where(ExpertJob.id.in_(_own_jobs(address_id, email)))
                           .order_by(ExpertJob.id)).all()
    direct_reviews = select(Review).where(Review.id.in_(_own_reviews(address_id, email)))
    job_reviews = select(JobReview).where(JobReview.id.in_(_own_job_reviews(address_id, email)))
    reviews = [dict(_row(r, REVIEW_FIELDS), of="direct_request", direct_request_id=r.direct_request_id)
               for r in session.scalars(direct_reviews.order_by(Review.id))]
    reviews += [dict(_row(r, REVIEW_FIELDS), of="expert_job", assignment_id=r.assignment_id)
                for r in session.scalars(job_reviews.order_by(JobReview.id))]
    return {
        "lead_requests": [dict(_row(r, LEAD_REQUEST_FIELDS), direct_requests=directs[r.id])
                          for r in requests],
        "expert_jobs": [dict(_row(job, JOB_FIELDS), assignments=[
            dict(_row(a, ["partner_id", "status", "created_at"]),
                 steps=[_row(t, JOB_TRANSITION_FIELDS) for t in a.transitions])
            for a in job.assignments]) for job in jobs],
        "reviews": reviews,
    }


# What belongs to an address, as selects of ids (the export reads them, the erasure changes them).

def _own_files(address_id: int):
    """The files the customer sent in its conversations (the partner's stay)."""
    return (select(MessageFile.id).join(Message, Message.id == MessageFile.message_id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.customer_id == address_id, Message.sender == Party.customer))


def _own_reports(address_id: int):
    return (select(AbuseReport.id).join(Conversation, Conversation.id == AbuseReport.conversation_id)
            .where(Conversation.customer_id == address_id, AbuseReport.reported_by == Party.customer))


def _email_key(email: str | None) -> str | None:
    """Requests and lead jobs store the e-mail address lower-cased (`normalize_email`)."""
    return email.strip().lower() if email and email.strip() else None


def _own_lead_requests(address_id: int, email: str | None):
    """Sent while signed in, or without an account from the address's e-mail address."""
    mine = LeadRequest.address_id == address_id
    key = _email_key(email)
    return select(LeadRequest.id).where(or_(mine, LeadRequest.email == key) if key else mine)


def _own_jobs(address_id: int, email: str | None):
    """The customer's jobs, and leads (no account) from the address's e-mail address."""
    mine = ExpertJob.customer_id == address_id
    key = _email_key(email)
    if key:
        mine = or_(mine, (ExpertJob.kind == JobKind.lead) & (ExpertJob.contact_email == key))
    return select(ExpertJob.id).where(mine)


def _own_reviews(address_id: int, email: str | None):
    return (select(Review.id).join(DirectRequest, DirectRequest.id == Review.direct_request_id)
            .where(DirectRequest.request_id.in_(_own_lead_requests(address_id, email))))


def _own_job_reviews(address_id: int, email: str | None):
    return (select(JobReview.id).join(JobAssignment, JobAssignment.id == JobReview.assignment_id)
            .where(JobAssignment.job_id.in_(_own_jobs(address_id, email))))


def _mailboxes(session: Session, address: Address, partner: Partner | None) -> list[str]:
    """The person's e-mail addresses, lower-cased: the address's, a partner's notification
    and login addresses, and those its marketplace requests and jobs were sent from."""
    found = {address.email}
    if partner is not None:
        found.add(partner.notification_email)
        if partner.user_id is not None:
            user = session.get(User, partner.user_id)
            found.add(user.email if user is not None else None)
    found.update(session.scalars(select(LeadRequest.email).where(
        LeadRequest.id.in_(_own_lead_requests(address.id, address.email)))))
    found.update(session.scalars(select(ExpertJob.contact_email).where(
        ExpertJob.id.in_(_own_jobs(address.id, address.email)))))
    return sorted({key for key in map(_email_key, found) if key and "@" in key})


def as_json(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def as_xlsx(data: dict) -> bytes:
    """A readable workbook: one sheet per section, one row per record."""
    book = Workbook()
    book.remove(book.active)
    for section, value in data.items():
        sheet = book.create_sheet(section[:31])
        rows = value if isinstance(value, list) else [value] if value else []
        if not rows:
            sheet.append(["—"])
            continue
        if not isinstance(rows[0], dict):
            continue
        if len(rows) == 1 and section not in LIST_SECTIONS:
            for key, cell in rows[0].items():
                sheet.append([key, _cell(cell)])
            continue
        header = list(rows[0].keys())
        sheet.append(header)
        for row in rows:
            sheet.append([_cell(row.get(key)) for key in header])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value):
    """A cell's value; a text that a spreadsheet would run as a formula gets a leading `'`."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# What keeps an address from a hard delete, as the refusal names it: the columns whose
# foreign key on the address restricts deleting it (the database would refuse with an
# error that names no reason). A partner's address is refused apart.
HARD_DELETE_HOLDERS = (
    ((Order.address_id,), _l("orders")),
    ((Redemption.address_id, Redemption.new_customer_address_id), _l("voucher redemptions")),
    ((ServiceOrder.customer_id, OrderRequest.customer_id, Offer.customer_id),
     _l("service orders, requests to order or offers")),
    ((Conversation.customer_id,), _l("conversations")),
    ((ExpertJob.customer_id,), _l("expert jobs")),
    ((Address.sponsor_id,), _l("a downline")),
    ((Voucher.for_customer_id, VoucherCode.for_customer_id), _l("vouchers reserved for it")),
)


def refuse_hard_delete(session: Session, address_id: int) -> None:
    """Raise a `Conflict` saying why the address must stay (erase it instead)."""
    if points_at(session, Partner.address_id, address_id):
        raise Conflict("address_is_partner", _(
            "This address belongs to a partner and cannot be deleted. End the partnership first, "
            "or erase the personal data (GDPR)."))
    reasons = held_by(session, HARD_DELETE_HOLDERS, address_id)
    if reasons:
        raise Conflict("address_in_use", _(
            "This address has %(what)s and cannot be deleted; erase its personal data (GDPR) instead.",
            what=", ".join(reasons)))


def erase(session: Session, address_id: int, *, reason: str, actor_user_id: int | None,
          actor_label: str) -> Erasure:
    """Anonymise the address (see the module's docstring); the caller commits."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolations({"reason": [_("Say why the data is erased.")]})
    address = _address(session, address_id)
    partner = session.execute(select(Partner).where(Partner.address_id == address_id)).scalar_one_or_none()
    # Read before anything is cleared: what is found by the e-mail addresses.
    email, mailboxes = address.email, _mailboxes(session, address, partner)
    texts = _erase_marketplace_texts(session, address_id, email)
    cleared = sum(1 for name in ERASED_FIELDS if getattr(address, name) is not None)
    for name in ERASED_FIELDS:
        setattr(address, name, None)
    address.last_name = ERASED_NAME
    address.consent_contact_by_sponsor = False
    address.consent_marketing = False
    logins = 0
    if partner is not None:
        for name in ERASED_PROFILE_FIELDS:
            if hasattr(partner, name):
                setattr(partner, name, None)
        partner.available = False
        if partner.user_id is not None:
            user = session.get(User, partner.user_id)
            if user is not None:
                user.active = False
                for name in ("first_name", "last_name"):
                    setattr(user, name, ERASED_NAME)
                user.email = f"erased-{user.id}@invalid"
                end_sessions(session, user.id)
                logins = 1
    session.execute(update(CustomerAccount).where(CustomerAccount.address_id == address_id)
                    .values(store_name=None, store_url=None)
                    .execution_options(synchronize_session="fetch"))
    # Sign-in links not used yet die with the address (its portal sessions end: no e-mail).
    session.execute(delete(CustomerSignIn).where(CustomerSignIn.address_id == address_id,
                                                 CustomerSignIn.used_at.is_(None)))
    session.flush()
    texts += _erase_customer_texts(session, address_id)
    files = message_files.discard(session, _own_files(address_id))
    mails = mail.erase_mails_to(session, mailboxes, ERASED_NAME)
    # The audit trail keeps who changed what, not the erased values themselves.
    session.execute(update(AuditEntry).where(AuditEntry.address_id == address_id)
                    .values(old_value=None, new_value=None))
    session.add(AuditEntry(actor_user_id=actor_user_id, actor_label=actor_label[:100], entity="address",
                           entity_id=address_id, address_id=address_id, field="erasure",
                           old_value=None, new_value=None, reason=reason))
    invoices_kept = len(personal_data(session, address_id)["invoices"])
    session.flush()
    return Erasure(address_id, cleared, invoices_kept, logins, texts, files, mails)


def _erase_customer_texts(session: Session, address_id: int) -> int:
    """What the customer wrote into its requests to order, service orders, conversations and
    abuse reports, anonymised as the address is: a required text becomes `ERASED_NAME`, an optional one
    None. The rows stay; so does what the partner wrote. The number of rows changed."""
    def run(statement) -> int:
        return session.execute(statement.execution_options(synchronize_session="fetch")).rowcount

    own_orders = select(ServiceOrder.id).where(ServiceOrder.customer_id == address_id)
    own_conversations = select(Conversation.id).where(Conversation.customer_id == address_id)
    return sum((
        run(update(OrderRequest).where(OrderRequest.customer_id == address_id).values(needs=ERASED_NAME)),
        run(update(ServiceOrder).where(ServiceOrder.customer_id == address_id,
                                       ServiceOrder.cancelled_by == Party.customer,
                                       ServiceOrder.cancel_reason.is_not(None))
            .values(cancel_reason=None)),
        run(update(ServiceOrderEvent).where(ServiceOrderEvent.order_id.in_(own_orders),
                                            ServiceOrderEvent.by == Party.customer,
                                            ServiceOrderEvent.note.is_not(None))
            .values(note=None)),
        run(update(Conversation).where(Conversation.customer_id == address_id)
            .values(requirements=ERASED_NAME, contact_name=ERASED_NAME, store_name=None, store_url=None)),
        run(update(Conversation).where(Conversation.customer_id == address_id,
                                       Conversation.declined_by == Party.customer,
                                       Conversation.decline_reason.is_not(None))
            .values(decline_reason=None)),
        run(update(Message).where(Message.conversation_id.in_(own_conversations),
                                  Message.sender == Party.customer)
            .values(body=ERASED_NAME)),
        run(update(AbuseReport).where(AbuseReport.id.in_(_own_reports(address_id))).values(reason=ERASED_NAME)),
    ))


def _erase_marketplace_texts(session: Session, address_id: int, email: str | None) -> int:
    """What the customer wrote into its marketplace requests, expert jobs and reviews (see
    the module's docstring); stars, charges, postal codes and the partners' rows stay. The
    number of rows changed."""
    def run(statement) -> int:
        return session.execute(statement.execution_options(synchronize_session="fetch")).rowcount

    requests = _own_lead_requests(address_id, email)
    jobs = _own_jobs(address_id, email)
    assignments = select(JobAssignment.id).where(JobAssignment.job_id.in_(jobs))
    declined_by_customer = select(JobTransition.assignment_id).where(
        JobTransition.assignment_id.in_(assignments), JobTransition.to_status == JobStatus.declined,
        JobTransition.actor == Actor.customer)
    # The selects above find requests and leads by their e-mail address too: the rows that
    # carry it are changed last.
    run(update(LeadRequest).where(LeadRequest.id.in_(requests),
                                  LeadRequest.status.in_([RequestStatus.unconfirmed, RequestStatus.open]))
        .values(status=RequestStatus.closed))
    run(update(DirectRequest).where(DirectRequest.request_id.in_(requests),
                                    DirectRequest.review_asked_at.is_(None))
        .values(review_asked_at=utcnow()))
    return sum((
        run(update(Review).where(Review.id.in_(_own_reviews(address_id, email)))
            .values(text=None, author_name=ERASED_NAME)),
        run(update(JobReview).where(JobReview.id.in_(_own_job_reviews(address_id, email)))
            .values(text=None, author_name=ERASED_NAME)),
        run(update(JobAssignment).where(JobAssignment.id.in_(declined_by_customer),
                                        JobAssignment.decline_reason.is_not(None))
            .values(decline_reason=None)),
        run(update(JobTransition).where(JobTransition.assignment_id.in_(assignments),
                                        JobTransition.actor == Actor.customer,
                                        JobTransition.reason.is_not(None))
            .values(reason=None)),
        run(update(ExpertJob).where(ExpertJob.id.in_(jobs)).values(
            requirements=ERASED_NAME, business_info=None, store_name=None, store_url=None,
            merchant_name=ERASED_NAME, contact_email=None, contact_phone=None)),
        run(update(LeadRequest).where(LeadRequest.id.in_(requests)).values(
            description=ERASED_NAME, preferred_dates=None, customer_name=ERASED_NAME, email=ERASED_NAME,
            phone=None)),
    ))
