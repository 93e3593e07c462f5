"""Service orders for the shop (role Shop): may a customer order a package now, order it, send
a request to order instead, accept a custom offer, read an order. The same rules as the
customer portal's pages; errors in the one JSON shape."""

from __future__ import annotations

from flask_appbuilder.api import expose
from flask_appbuilder.security.decorators import protect

from .. import transaction
from ..extensions import db
from ..services import service_orders as so
from .base import JsonErrorApi
from .errors import json_object
from .read import Fields, whole, whole_arg


def _order_json(order) -> dict:
    return {
        "id": order.id,
        "status": order.status.value,
        "partner_id": order.partner_id,
        "customer_id": order.customer_id,
        "package_id": order.package_id,
        "offer_id": order.offer_id,
        "title": order.title,
        "scope": order.scope,
        "gross": str(order.gross),
        "net": str(order.net),
        "vat": str(order.vat),
        "vat_rate": str(order.vat_rate),
        "delivery_days": order.delivery_days,
        "created_at": order.created_at.isoformat(),
    }


class ServiceOrdersApi(JsonErrorApi):
    resource_name = "service_orders"
    class_permission_name = "ServiceOrdersApi"
    allow_browser_login = False
    method_permission_name = {
        "may_order": "get",
        "place": "post",
        "send_request": "post",
        "accept": "post",
        "show": "get",
    }
    openapi_spec_tag = "Shop"

    @expose("/may_order", methods=["GET"])
    @protect()
    def may_order(self):
        """Whether the customer orders the package directly now or must send a request.
        ---
        get:
          summary: Direct order or request to order, now
          parameters:
          - {in: query, name: package_id, required: true, schema: {type: integer}}
          - {in: query, name: customer_id, required: false, schema: {type: integer}}
          responses:
            200:
              description: direct is true for a direct order, false when a request is needed
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      direct: {type: boolean}
            400:
              description: A parameter is no number
        """
        package_id, customer_id = whole_arg("package_id", required=True), whole_arg("customer_id")
        direct = so.may_order_now(db.session, customer_id, package_id)
        transaction.discard()
        return self.response(200, direct=direct)

    @expose("/", methods=["POST"])
    @protect()
    def place(self):
        """Order a package for a customer (refused where a request is needed).
        ---
        post:
          summary: Order a package
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [customer_id, package_id]
                  properties:
                    customer_id: {type: integer}
                    package_id: {type: integer}
          responses:
            201:
              description: The order
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      id: {type: integer}
                      status: {type: string}
                      gross: {type: string, format: decimal}
            403:
              description: The partner blocked the customer
            404:
              description: Unknown customer or package
            409:
              description: request_required, the customer must send a request now
            422:
              description: Invalid fields
        """
        data = json_object()
        customer_id, package_id = whole(data, "customer_id"), whole(data, "package_id")

        def work(session):
            so.check_customer(session, customer_id)
            return _order_json(so.place_order(session, customer_id, package_id))

        return self.response(201, **transaction.run(work))

    @expose("/requests", methods=["POST"])
    @protect()
    def send_request(self):
        """A customer's request to order a package.
        ---
        post:
          summary: Send a request to order
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [customer_id, package_id, needs]
                  properties:
                    customer_id: {type: integer}
                    package_id: {type: integer}
                    needs: {type: string}
                    wished_start: {type: string, format: date}
          responses:
            201:
              description: The request
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      id: {type: integer}
                      state: {type: string}
            403:
              description: The partner blocked the customer
            404:
              description: Unknown customer, package or partner
            409:
              description: Conflict
            422:
              description: Invalid fields
        """
        data = json_object()
        customer_id, package_id = whole(data, "customer_id"), whole(data, "package_id")
        body = Fields(data)
        needs, wished_start = body.text("needs"), body.date("wished_start")
        body.check(next(iter(body.errors.values()))[0] if len(body.errors) == 1 else None)

        def work(session):
            so.check_customer(session, customer_id)
            found = so.send_request(
                session,
                customer_id,
                package_id,
                needs=needs if isinstance(needs, str) else "",
                wished_start=wished_start,
            )
            return {"id": found.id, "state": found.state.value}

        return self.response(201, **transaction.run(work))

    @expose("/offers/<int:pk>/accept", methods=["POST"])
    @protect()
    def accept(self, pk):
        """The customer accepts a custom offer: one order, also when sent twice.
        ---
        post:
          summary: Accept an offer
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [customer_id]
                  properties:
                    customer_id: {type: integer}
          responses:
            201:
              description: The order
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      id: {type: integer}
                      status: {type: string}
                      gross: {type: string, format: decimal}
            200:
              description: Accepted before; the same order
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      id: {type: integer}
                      status: {type: string}
                      gross: {type: string, format: decimal}
            403:
              description: The partner blocked the customer
            404:
              description: No such offer for this customer
            409:
              description: Conflict
            422:
              description: The offer expired, was withdrawn or declined
        """
        customer_id = whole(json_object(), "customer_id")
        accepted = transaction.run(lambda session: so.accept_offer(session, customer_id, pk), retries=2)
        body = _order_json(so.order_of(db.session, accepted.order_id, customer_id=customer_id))
        transaction.discard()
        return self.response(200 if accepted.repeated else 201, **body)

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    def show(self, pk):
        """One service order (of the given customer, when one is named).
        ---
        get:
          summary: A service order
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          - {in: query, name: customer_id, required: false, schema: {type: integer}}
          responses:
            200:
              description: The order
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      id: {type: integer}
                      status: {type: string}
                      gross: {type: string, format: decimal}
            400:
              description: customer_id is no number
            404:
              description: No such order of this customer
        """
        customer_id = whole_arg("customer_id")
        body = _order_json(so.order_for_shop(db.session, pk, customer_id))
        transaction.discard()
        return self.response(200, **body)
