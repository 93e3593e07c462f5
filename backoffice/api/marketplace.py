"""The marketplace for the shop (role Shop): submit a customer's request, list the partners
ranked for it, send a direct request. The same rules as the portal's pages: the request is
live once the customer confirms it from the mail, and a direct request is charged once."""

from __future__ import annotations

from flask import url_for
from flask_appbuilder.api import expose
from flask_appbuilder.security.decorators import protect

from .. import transaction
from ..extensions import db
from ..services import marketplace
from .base import JsonErrorApi
from .errors import json_object
from .read import whole


class MarketplaceApi(JsonErrorApi):
    resource_name = "marketplace"
    class_permission_name = "MarketplaceApi"
    allow_browser_login = False
    method_permission_name = {"submit": "post", "partners": "get", "send": "post"}
    openapi_spec_tag = "Shop"

    @expose("/requests", methods=["POST"])
    @protect()
    def submit(self):
        """Submit a customer's request; the customer confirms it from the e-mail.
        ---
        post:
          summary: Submit a request (category, description, postal code, contact data)
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [category_id, description, postal_code, name, email]
                  properties:
                    category_id: {type: integer}
                    description: {type: string}
                    preferred_dates: {type: string}
                    postal_code: {type: string}
                    name: {type: string}
                    email: {type: string}
                    phone: {type: string}
                    language: {type: string, enum: [de, en]}
                    customer_id: {type: integer}
          responses:
            201:
              description: Submitted; waits for the customer's confirmation
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      id: {type: integer}
                      status: {type: string}
            409:
              description: A request for this e-mail, category and postal code was sent today
            422:
              description: Invalid fields
        """
        data = json_object("description", "preferred_dates", "postal_code", "name", "email", "phone",
                           "language")
        category_id = whole(data, "category_id")
        customer_id = whole(data, "customer_id", required=False)
        created = transaction.run(
            lambda session: (
                marketplace.submit_request(
                    session,
                    category_id=category_id,
                    description=str(data.get("description") or ""),
                    preferred_dates=str(data.get("preferred_dates") or ""),
                    postal_code=str(data.get("postal_code") or ""),
                    name=str(data.get("name") or ""),
                    email=str(data.get("email") or ""),
                    phone=str(data.get("phone") or ""),
                    language=str(data.get("language") or "de"),
                    address_id=customer_id,
                    confirm_url=url_for("portal.confirm_request", token="-", _external=True)[:-1],
                ).id
            )
        )
        return self.response(201, id=created, status="unconfirmed")

    @expose("/requests/<int:pk>/partners", methods=["GET"])
    @protect()
    def partners(self, pk):
        """The partners ranked for a confirmed request.
        ---
        get:
          summary: Ranked partners of a confirmed request (score = bid × quality)
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: Best first
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      partners:
                        type: array
                        items:
                          type: object
                          properties:
                            partner_id: {type: integer}
                            name: {type: string}
                            position: {type: integer}
                            distance_km: {type: number}
            404:
              description: Unknown request
            409:
              description: The request is not confirmed yet
        """
        with transaction.guarded(db.session):  # the ranking is kept for the receipts
            ranked = marketplace.ranked_partners(db.session, pk)
        return self.response(
            200,
            partners=[
                {
                    "partner_id": r.partner_id,
                    "name": r.display_name,
                    "position": r.position,
                    "distance_km": r.distance_km,
                }
                for r in ranked
            ],
        )

    @expose("/requests/<int:pk>/direct", methods=["POST"])
    @protect()
    def send(self, pk):
        """Send a confirmed request to a partner; the partner is charged once.
        ---
        post:
          summary: Direct request to a ranked partner (idempotent per request and partner)
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [partner_id]
                  properties:
                    partner_id: {type: integer}
          responses:
            201:
              description: Sent and charged
            200:
              description: Sent before; the first result
            403:
              description: The partner does not take this request
            409:
              description: Not confirmed, partner limit reached, or the partner's budget is used up
        """
        partner_id = whole(json_object(), "partner_id")
        sent = transaction.run(
            lambda session: marketplace.send_direct_request(session, pk, partner_id), retries=2
        )
        contact = marketplace.contact_of_partner(db.session, partner_id)
        transaction.discard()
        return self.response(
            200 if sent.repeated else 201,
            direct_request_id=sent.direct_request_id,
            repeated=sent.repeated,
            partner={"name": contact.name, "email": contact.email, "phone": contact.phone},
        )
