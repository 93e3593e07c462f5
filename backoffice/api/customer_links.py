"""The shop asks for a customer's sign-in link to the customer portal (role Shop).

For a customer who is logged in to the shop: the shop sends the customer's e-mail address
or address id and sends the customer to the returned URL, which signs them in to `/c/`
once, within 15 minutes.
"""

from __future__ import annotations

from flask import url_for
from flask_appbuilder.api import expose
from flask_appbuilder.security.decorators import protect

from .. import transaction
from ..extensions import db
from ..services import customer_portal
from .base import JsonErrorApi
from .errors import json_object
from .read import whole


class CustomerLinksApi(JsonErrorApi):
    resource_name = "customer_links"
    class_permission_name = "CustomerLinksApi"
    allow_browser_login = False
    method_permission_name = {"create": "post"}
    openapi_spec_tag = "Shop"

    @expose("/", methods=["POST"])
    @protect()
    def create(self):
        """A one-time sign-in link to the customer portal for a shop customer.
        ---
        post:
          summary: Sign-in link to the customer portal (single use, valid 15 minutes)
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    email: {type: string}
                    address_id: {type: integer}
          responses:
            201:
              description: The link
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      url: {type: string}
                      expires_at: {type: string, format: date-time}
                      address_id: {type: integer}
            400:
              description: Not a JSON object
            404:
              description: No such customer
            422:
              description: Neither e-mail nor address id given, or one of the wrong type (fields)
        """
        data = json_object("email")
        address_id = whole(data, "address_id", required=False)
        email = data.get("email")
        portal_url = url_for("portal.index", _external=True)
        with transaction.unit_of_work(db.session):
            link = customer_portal.shop_link(db.session, portal_url, email=email, address_id=address_id)
        return self.response(201, url=link.url, expires_at=link.expires_at.isoformat(),
                             address_id=link.address_id)
