"""Personal data of one address (GDPR, A8): everything we store about it, its erasure, and
when an address may be deleted at all.

- `personal_data` collects master data, consents, the partner profile, orders with their
  lines, invoices, voucher redemptions, the customer's service orders (with their steps),
  requests to order and the custom offers made to it, audit entries and the position in the
  sponsor tree as plain values; `as_json` and `as_xlsx` write them for the person.
- `erase` anonymises the personal fields and keeps what must stay: invoices with their
  legally required data (buyer name and address, amounts; commercial and tax law keep
  them for years), orders and redemptions as bookkeeping, and the node in the tree, so
  the downline stays where it is under an anonymous node. Partner profile and SEPA data
  are cleared, the linked login deactivated and its sessions ended. The erasure is audited
  with who and why.
- Service orders, requests to order and offers stay (they are the partner's bookkeeping
  too), but what the customer wrote into them and into their conversations is anonymised
  like the address (`_erase_customer_texts`): a request's needs, the customer's
  cancellation reasons and step notes, the conversations' requirements, contact name and
  store, and the customer's messages. What the partner wrote (offers, the agreed scope,
  the partner's messages and declines) stays.
- `refuse_hard_delete` says why an address cannot be deleted: a partner's, one with
  orders, service orders (requests, offers), invoices, redemptions, a downline or vouchers
  reserved for it (erase it instead).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask_appbuilder.security.sqla.models import User
from flask_babel import gettext as _
from openpyxl import Workbook
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from ..errors import Conflict, NotFound, RuleViolations
from ..models import (
    Address,
    AuditEntry,
    Conversation,
    Invoice,
    Message,
    Offer,
    Order,
    OrderRequest,
    Partner,
    Party,
    Redemption,
    ServiceOrder,
    ServiceOrderEvent,
    Voucher,
    VoucherCode,
)
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
# Sections that are lists of records: a sheet with a header row even for a single record.
LIST_SECTIONS = ("orders", "service_orders", "order_requests", "offers")


@dataclass(frozen=True)
class Erasure:
    address_id: int
    fields_cleared: int
    invoices_kept: int
    logins_ended: int
    texts_erased: int = 0  # rows of service orders, requests, steps, conversations, messages


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
    audit = session.execute(select(AuditEntry).where(AuditEntry.address_id == address_id)
                            .order_by(AuditEntry.id)).scalars()
    tree = address.tree
    return {
        "master_data": _row(address, MASTER_FIELDS),
        "consents": _row(address, CONSENT_FIELDS),
        "partner_profile": _row(partner, PROFILE_FIELDS) if partner is not None else None,
        "orders": order_rows,
        "invoices": [_row(i, ["series", "number", "kind", "issued_at", "delivery_date", "buyer_name",
                              "buyer_address", "total_net", "total_vat", "total_gross"]) for i in invoices],
        "redemptions": [_row(r, ["order_id", "amount", "was_new_customer", "redeemed_at", "released_at"])
                        for r in redemptions],
        **_service_orders(session, address_id),
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
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def refuse_hard_delete(session: Session, address_id: int) -> None:
    """Raise a `Conflict` saying why the address must stay (erase it instead)."""
    def count(stmt):
        return session.execute(stmt).scalar_one()

    if count(select(func.count()).select_from(Partner).where(Partner.address_id == address_id)):
        raise Conflict("address_is_partner", _(
            "This address belongs to a partner and cannot be deleted. End the partnership first, "
            "or erase the personal data (GDPR)."))
    reasons = []
    if count(select(func.count()).select_from(Order).where(Order.address_id == address_id)):
        reasons.append(_("orders"))
    if count(select(func.count()).select_from(Redemption).where(
            or_(Redemption.address_id == address_id, Redemption.new_customer_address_id == address_id))):
        reasons.append(_("voucher redemptions"))
    if any(count(select(func.count()).select_from(model).where(model.customer_id == address_id))
           for model in (ServiceOrder, OrderRequest, Offer)):
        reasons.append(_("service orders, requests to order or offers"))
    if count(select(func.count()).select_from(Address).where(Address.sponsor_id == address_id)):
        reasons.append(_("a downline"))
    reserved = (select(func.count()).where(Voucher.for_customer_id == address_id),
                select(func.count()).where(VoucherCode.for_customer_id == address_id))
    if any(count(stmt) for stmt in reserved):
        reasons.append(_("vouchers reserved for it"))
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
    cleared = sum(1 for name in ERASED_FIELDS if getattr(address, name) is not None)
    for name in ERASED_FIELDS:
        setattr(address, name, None)
    address.last_name = ERASED_NAME
    address.consent_contact_by_sponsor = False
    address.consent_marketing = False
    logins = 0
    partner = session.execute(select(Partner).where(Partner.address_id == address_id)).scalar_one_or_none()
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
    session.flush()
    texts = _erase_customer_texts(session, address_id)
    # The audit trail keeps who changed what, not the erased values themselves.
    session.execute(update(AuditEntry).where(AuditEntry.address_id == address_id)
                    .values(old_value=None, new_value=None))
    session.add(AuditEntry(actor_user_id=actor_user_id, actor_label=actor_label[:100], entity="address",
                           entity_id=address_id, address_id=address_id, field="erasure",
                           old_value=None, new_value=None, reason=reason))
    invoices_kept = len(personal_data(session, address_id)["invoices"])
    session.flush()
    return Erasure(address_id, cleared, invoices_kept, logins, texts)


def _erase_customer_texts(session: Session, address_id: int) -> int:
    """What the customer wrote into its requests to order, service orders and conversations,
    anonymised as the address is: a required text becomes `ERASED_NAME`, an optional one
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
    ))
