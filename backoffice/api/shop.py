"""The shop's REST API: register customers, check vouchers, place and cancel orders, invoices.

Token-authenticated (role Shop). Errors are `{"error": <machine code>, "message": <text>}`
with a 4xx status. The handlers only parse and call `backoffice.services`.
"""

from __future__ import annotations

import math

from flask import Response, current_app, request
from flask_appbuilder.api import expose
from flask_appbuilder.security.decorators import protect
from flask_babel import gettext as _

from reports.invoices import render_invoice

from ..errors import DomainError
from ..extensions import db
from ..models import Address, Invoice, InvoiceKind, Order
from ..rules import RuleViolations
from ..security import logged_in_user
from ..services.orders import cancel_order, place_order, register_customer
from ..services.throttle import voucher_checks
from ..services.vouchers import BasketError, basket, check
from .base import JsonErrorApi

ERROR_SCHEMA = {"type": "object", "properties": {"error": {"type": "string"},
                                                 "message": {"type": "string"}}}
LINES_SCHEMA = {"type": "array", "items": {"type": "object", "required": ["article_no", "quantity"],
                                           "properties": {"article_no": {"type": "string"},
                                                          "quantity": {"type": "integer", "minimum": 1}}}}


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
        for name, schema in (("ShopError", ERROR_SCHEMA), ("ShopLines", LINES_SCHEMA)):
            if name not in api_spec.components.schemas:
                api_spec.components.schema(name, schema)

    # --- helpers ------------------------------------------------------------------------------

    def _domain_error(self, exc: DomainError):
        db.session.rollback()
        status = exc.status if 400 <= exc.status < 500 else 422
        return self._error(status, exc.code, exc.message, **exc.details)

    def _json(self) -> dict | None:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else None

    # --- endpoints ----------------------------------------------------------------------------

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
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Error'}
            422:
              description: Invalid fields
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Error'}
        """
        data = self._json()
        if data is None:
            return self._error(400, "invalid_json", _("Send a JSON object."))
        if not data.get("email"):
            return self._error(422, "invalid_fields", _("An e-mail address is required."),
                               fields={"email": [_("An e-mail address is required.")]})
        try:
            address = register_customer(db.session, data)
        except RuleViolations as exc:
            db.session.rollback()
            return self._error(422, "invalid_fields", str(exc), fields=exc.errors)
        except DomainError as exc:
            return self._domain_error(exc)
        return self.response(201, id=address.id, type=address.type.value, sponsor_id=address.sponsor_id)

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
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Error'}
        """
        data = self._json()
        if data is None:
            return self._error(400, "invalid_json", _("Send a JSON object."))
        customer_id = data.get("customer_id")
        throttled = self._throttle(customer_id)
        if throttled is not None:
            return throttled
        customer = None
        if customer_id is not None:
            customer = db.session.get(Address, customer_id) if isinstance(customer_id, int) else None
            if customer is None:
                return self._error(404, "unknown_customer", _("There is no customer with this id."))
        try:
            lines = basket(db.session, data.get("lines") or [])
        except BasketError as exc:
            return self._domain_error(exc)
        result = check(db.session, str(data.get("code") or ""), lines, customer)
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
                response = self._error(429, "too_many_checks", _(
                    "Too many voucher checks. Please wait %(n)s seconds and try again.", n=seconds),
                    retry_after=seconds)
                response.headers["Retry-After"] = str(seconds)
                return response
        return None

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
            200:
              description: This external_order_id was placed before; its first result
            404:
              description: Unknown customer
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Error'}
            409:
              description: Voucher not redeemable (error = reason)
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Error'}
        """
        data = self._json()
        if data is None:
            return self._error(400, "invalid_json", _("Send a JSON object."))
        customer_id = data.get("customer_id")
        if not isinstance(customer_id, int) or isinstance(customer_id, bool):
            return self._error(422, "invalid_customer_id", _("customer_id must be a number."))
        try:
            code = data.get("voucher_code")
            result = place_order(db.session, data.get("external_order_id"), customer_id,
                                 data.get("lines") or [], str(code) if code else None)
        except DomainError as exc:
            return self._domain_error(exc)
        return self.response(200 if result.repeated else 201, **result.as_dict())

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
              description: Cancelled
            404:
              description: Unknown order
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Error'}
        """
        try:
            result = cancel_order(db.session, pk)
        except DomainError as exc:
            return self._domain_error(exc)
        return self.response(200, **result.as_dict())

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
                application/pdf: {}
            404:
              description: Unknown order or no such invoice
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Error'}
        """
        order = db.session.get(Order, pk)
        kind = request.args.get("kind", "invoice")
        if order is None or kind not in ("invoice", "cancellation"):
            return self._error(404, "unknown_order", _("There is no order with this id."))
        invoice = next((i for i in order.invoices if i.kind == InvoiceKind(kind)), None)
        if invoice is None:
            return self._error(404, "no_invoice", _("This order has no such invoice."))
        return pdf_response(invoice)


def pdf_response(invoice: Invoice) -> Response:
    pdf = render_invoice(invoice, current_app.config)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{invoice.display_number}.pdf"'})
