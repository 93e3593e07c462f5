"""The shop's REST API: register customers, check vouchers, place and cancel orders, invoices.

Token-authenticated (role Shop). Handlers parse the request, run the service in one unit of
work (`backoffice.transaction.run`) and build the JSON answer from the service's plain
result; refusals are `DomainError`s, answered in the one error shape (`backoffice.api.errors`).
"""

from __future__ import annotations

import math

from flask import current_app, request
from flask_appbuilder.api import expose
from flask_appbuilder.security.decorators import protect
from flask_babel import gettext as _

from .. import transaction
from ..downloads import pdf_response
from ..errors import NotFound, RuleViolations, TooManyRequests
from ..extensions import db
from ..models import Address, Invoice, InvoiceKind, Order
from ..security import logged_in_user
from ..services import customers, orders
from ..services.throttle import voucher_checks
from ..services.vouchers import basket, check
from . import language
from .base import JsonErrorApi
from .errors import json_object
from .read import is_whole, whole

LINES_SCHEMA = {"type": "array", "items": {"type": "object", "required": ["article_no", "quantity"],
                                           "properties": {"article_no": {"type": "string"},
                                                          "quantity": {"type": "integer", "minimum": 1}}}}


MONEY = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$", "example": "19.99"}
ORDER_SCHEMA = {
    "type": "object",
    "required": ["id", "external_order_id", "status", "subtotal", "discount", "total_gross",
                 "total_net", "total_vat", "vat", "customer", "repeated"],
    "properties": {
        "id": {"type": "integer"},
        "external_order_id": {"type": "string"},
        "status": {"type": "string", "enum": ["completed", "cancelled"]},
        "invoice_number": {"type": "string", "nullable": True},
        "cancellation_invoice_number": {"type": "string", "nullable": True},
        "subtotal": MONEY, "discount": MONEY, "total_gross": MONEY, "total_net": MONEY,
        "total_vat": MONEY,
        "vat": {"type": "array", "items": {
            "type": "object", "required": ["rate", "net", "vat", "gross"],
            "properties": {"rate": MONEY, "net": MONEY, "vat": MONEY, "gross": MONEY}}},
        "voucher_code": {"type": "string", "nullable": True},
        "customer": {"type": "object", "required": ["id", "type"], "properties": {
            "id": {"type": "integer"}, "type": {"type": "string"},
            "sponsor_id": {"type": "integer", "nullable": True}}},
        "repeated": {"type": "boolean"},
    },
}


class ShopApi(JsonErrorApi):
    resource_name = "shop"
    class_permission_name = "ShopApi"
    allow_browser_login = False
    method_permission_name = {"register_customer": "post", "check_voucher": "post",
                              "create_order": "post", "cancel": "post", "invoice_pdf": "get"}
    openapi_spec_tag = "Shop"
    openapi_spec_component_schemas = ()
    apispec_parameter_schemas = {}

    def add_apispec_components(self, api_spec):
        super().add_apispec_components(api_spec)
        if "ShopLines" not in api_spec.components.schemas:
            api_spec.components.schema("ShopLines", LINES_SCHEMA)
        if "ShopOrder" not in api_spec.components.schemas:
            api_spec.components.schema("ShopOrder", ORDER_SCHEMA)

    @expose("/customers", methods=["POST"])
    @protect()
    def register_customer(self):
        """Register a new customer.
        ---
        post:
          summary: Register a new customer (type new_customer)
          description: >-
            `partner_subdomain` makes that partner the provisional sponsor. The same e-mail
            again answers 409 with the existing id.
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [email, last_name]
                  properties:
                    email: {type: string}
                    salutation: {type: string, enum: [mr, ms, diverse, company]}
                    first_name: {type: string}
                    last_name: {type: string}
                    company: {type: string}
                    phone: {type: string}
                    street: {type: string}
                    postal_code: {type: string}
                    city: {type: string}
                    country: {type: string}
                    language: {type: string, enum: [de, en]}
                    partner_subdomain: {type: string}
                    consent_contact_by_sponsor: {type: boolean}
                    consent_marketing: {type: boolean}
          responses:
            201:
              description: Registered
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      id: {type: integer}
                      type: {type: string}
                      sponsor_id: {type: integer, nullable: true}
            409:
              description: E-mail exists; `id` is the existing address
            422:
              description: Invalid fields
        """
        data = json_object()
        language.in_language(data.get("language"))
        if not data.get("email"):
            raise RuleViolations({"email": [_("An e-mail address is required.")]},
                                 _("An e-mail address is required."))
        customer = transaction.run(lambda session: customers.register_customer(session, data),
                                   on_conflict=lambda session, exc: _raise(customers.email_taken()))
        return self.response(201, id=customer.id, type=customer.type.value, sponsor_id=customer.sponsor_id)

    @expose("/vouchers/check", methods=["POST"])
    @protect()
    def check_voucher(self):
        """Check a voucher code against a basket.
        ---
        post:
          summary: Check a voucher code for a basket (throttled per client and customer)
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [code, lines]
                  properties:
                    code: {type: string}
                    customer_id: {type: integer}
                    lines: {$ref: '#/components/schemas/ShopLines'}
          responses:
            200:
              description: >-
                `valid`, `discount` (decimal string); when invalid a `reason`: unknown, expired,
                not_yet_valid, outside_time_window, min_order_value, not_new_customer, used_up,
                not_for_this_customer, no_eligible_articles
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      valid: {type: boolean}
                      discount: {type: string}
                      reason: {type: string}
                      message: {type: string}
            429:
              description: Too many checks; retry after `Retry-After` seconds
        """
        data = json_object("code")
        customer_id = data.get("customer_id")
        language.about_customer(customer_id)
        self._throttle(customer_id)
        customer = None
        if customer_id is not None:
            customer = db.session.get(Address, customer_id) if is_whole(customer_id) else None
            if customer is None:
                raise NotFound("unknown_customer", _("There is no customer with this id."))
        lines = basket(db.session, data.get("lines") or [])
        result = check(db.session, str(data.get("code") or ""), lines, customer)
        transaction.discard()  # a check reads only
        body = {"valid": result.valid, "discount": str(result.discount)}
        if not result.valid:
            body.update(reason=result.reason, message=result.message)
        return self.response(200, **body)

    def _throttle(self, customer_id):
        config = current_app.config
        window = float(config.get("VOUCHER_CHECK_WINDOW_SECONDS", 60))
        user = logged_in_user()
        keys = [(f"client:{getattr(user, 'id', request.remote_addr)}",
                 int(config.get("VOUCHER_CHECKS_PER_CLIENT", 600)))]
        if customer_id is not None:
            keys.append((f"customer:{customer_id}", int(config.get("VOUCHER_CHECKS_PER_CUSTOMER", 20))))
        for key, limit in keys:
            wait = voucher_checks.hit(key, limit, window)
            if wait is not None:
                seconds = max(1, math.ceil(wait))
                raise TooManyRequests("too_many_checks", _(
                    "Too many voucher checks. Please wait %(n)s seconds and try again.", n=seconds),
                    retry_after=seconds)

    @expose("/orders", methods=["POST"])
    @protect()
    def create_order(self):
        """Place an order, atomically, idempotent by external_order_id.
        ---
        post:
          summary: Complete an order (with an optional voucher code)
          description: >-
            Validates again and commits order, lines, voucher line, redemption, invoice,
            the customer's type change and, for a partner code, the sponsor assignment.
            The same `external_order_id` again returns the first result (200) and changes
            nothing. A voucher that became invalid: 409 with the reason, nothing saved.
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [external_order_id, customer_id, lines]
                  properties:
                    external_order_id: {type: string}
                    customer_id: {type: integer}
                    lines: {$ref: '#/components/schemas/ShopLines'}
                    voucher_code: {type: string}
          responses:
            201:
              description: Order placed; id, invoice number, totals, VAT per rate, customer
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ShopOrder'}
            200:
              description: This external_order_id was placed before; its first result
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ShopOrder'}
            404:
              description: Unknown customer
            409:
              description: >-
                Voucher not redeemable (error = reason), or `idempotency_conflict`: this
                external_order_id was placed with another customer, basket or code
        """
        data = json_object("external_order_id", "voucher_code")
        language.about_customer(data.get("customer_id"))
        customer_id = whole(data, "customer_id", code="invalid_customer_id")
        code = data.get("voucher_code")
        external_id = data.get("external_order_id")
        lines, code = data.get("lines") or [], str(code) if code else None
        result = transaction.run(
            lambda session: orders.place_order(session, external_id, customer_id, lines, code),
            retries=orders.CHECKOUT_RETRIES,
            on_conflict=orders.on_order_conflict(external_id, customer_id, lines, code))
        return self.response(200 if result.repeated else 201, **order_json(result))

    @expose("/orders/<int:pk>/cancel", methods=["POST"])
    @protect()
    def cancel(self, pk):
        """Cancel an order.
        ---
        post:
          summary: Cancel an order, release its voucher once, issue a cancellation invoice
          description: >-
            A second cancel changes nothing (200 with the same result). The address stays a
            customer and keeps its sponsor (it completed an order; reverting would let
            order-and-cancel earn another new-customer discount).
          parameters:
          - in: path
            name: pk
            required: true
            schema: {type: integer}
          responses:
            200:
              description: Cancelled (the order with its cancellation invoice number)
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ShopOrder'}
            404:
              description: Unknown order
        """
        language.about_order(pk)
        result = transaction.run(lambda session: orders.cancel_order(session, pk),
                                 on_conflict=orders.on_cancel_conflict(pk))
        return self.response(200, **order_json(result))

    @expose("/orders/<int:pk>/invoice.pdf", methods=["GET"])
    @protect()
    def invoice_pdf(self, pk):
        """The order's invoice as PDF.
        ---
        get:
          summary: The order's invoice (PDF); `?kind=cancellation` for the cancellation invoice
          parameters:
          - in: path
            name: pk
            required: true
            schema: {type: integer}
          - in: query
            name: kind
            schema: {type: string, enum: [invoice, cancellation]}
          responses:
            200:
              description: The PDF
              content:
                application/pdf:
                  schema: {type: string, format: binary}
            404:
              description: Unknown order or no such invoice
        """
        language.about_order(pk)
        order = db.session.get(Order, pk)
        kind = request.args.get("kind", "invoice")
        if order is None or kind not in ("invoice", "cancellation"):
            raise NotFound("unknown_order", _("There is no order with this id."))
        invoice = next((i for i in order.invoices if i.kind == InvoiceKind(kind)), None)
        if invoice is None:
            raise NotFound("no_invoice", _("This order has no such invoice."))
        return pdf_response(invoice)



def _raise(error: Exception):
    raise error


def _money(value) -> str:
    return str(value)


def order_json(result: orders.OrderResult) -> dict:
    """The shop's answer for an order: amounts as decimal strings, invoice numbers as printed."""
    order = result.summary
    return {
        "id": order.id,
        "external_order_id": order.external_order_id,
        "status": order.status.value,
        "invoice_number": Invoice.format_number(order.invoice_number) if order.invoice_number else None,
        "cancellation_invoice_number": (Invoice.format_number(order.cancellation_number)
                                        if order.cancellation_number else None),
        "subtotal": _money(order.subtotal),
        "discount": _money(order.discount),
        "total_gross": _money(order.total_gross),
        "total_net": _money(order.total_net),
        "total_vat": _money(order.total_vat),
        "vat": [{"rate": _money(r.rate), "net": _money(r.net), "vat": _money(r.vat), "gross": _money(r.gross)}
                for r in order.vat],
        "voucher_code": order.voucher_code,
        "customer": {"id": order.customer_id, "type": order.customer_type.value,
                     "sponsor_id": order.customer_sponsor_id},
        "repeated": result.repeated,
    }
