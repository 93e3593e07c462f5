"""Staff REST API for vouchers and their codes (V5: creation by API)."""

from __future__ import annotations

from flask_appbuilder.api import expose
from flask_appbuilder.security.decorators import protect
from flask_babel import gettext as _

from .. import transaction
from ..datamodel import Interface
from ..errors import NotFound
from ..extensions import db
from ..labels import VOUCHER_LABELS, VOUCHER_TITLES
from ..models import Voucher, VoucherCode
from ..services.voucher_rules import check_voucher_record
from ..services.vouchers import add_code, generate_codes
from .base import ModelApi
from .errors import json_object
from .read import is_whole

VOUCHER_API_FIELDS = ["name", "kind", "amount", "vat_mode", "fixed_vat_rate", "new_customers_only",
                      "min_order_value", "valid_from", "valid_until", "valid_on", "window_weekdays",
                      "window_start", "window_end", "max_total", "max_per_customer",
                      "released_for_partner_codes", "for_customer_id", "active"]


class VoucherApi(ModelApi):
    resource_name = "voucher"
    datamodel = Interface(Voucher)
    label_columns = VOUCHER_LABELS
    list_title, show_title, add_title, edit_title = VOUCHER_TITLES
    list_columns = ["id", *VOUCHER_API_FIELDS, "redeemed_count"]
    show_columns = list_columns
    add_columns = VOUCHER_API_FIELDS
    edit_columns = VOUCHER_API_FIELDS
    search_columns = ["name", "kind", "active", "new_customers_only", "released_for_partner_codes"]
    order_columns = ["id", "name", "amount", "redeemed_count"]
    method_permission_name = {"get_list": "get", "get": "get", "post": "post", "put": "put",
                              "delete": "delete", "info": "info", "add_codes": "post"}

    def _init_model_schemas(self):
        super()._init_model_schemas()
        for schema in (self.add_model_schema, self.edit_model_schema):
            for name, field in schema.fields.items():
                column = Voucher.__table__.columns.get(name)
                if column is not None and (column.nullable or column.default is not None):
                    field.required = False
                    field.allow_none = column.nullable

    def pre_add(self, item):
        check_voucher_record(item)

    def pre_update(self, item):
        check_voucher_record(item)

    @expose("/<int:pk>/codes", methods=["POST"])
    @protect()
    def add_codes(self, pk):
        """Add codes to a voucher: one `code`, or `count` codes from a `pattern`.
        ---
        post:
          summary: Add one code (`code`) or generate `count` codes from a `pattern` (# = random)
          parameters:
          - in: path
            name: pk
            required: true
            schema: {type: integer}
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    code: {type: string}
                    pattern: {type: string}
                    count: {type: integer}
          responses:
            201:
              description: The codes created
        """
        voucher = db.session.get(Voucher, pk)
        if voucher is None:
            raise NotFound("unknown_voucher", _("There is no voucher with this id."))
        data = json_object("code", "pattern")

        def create(session):
            if data.get("pattern"):
                count = data.get("count")
                return generate_codes(session, voucher, str(data["pattern"]),
                                      count if is_whole(count) else 0)
            return [add_code(session, voucher, str(data.get("code") or ""))]

        codes = transaction.run(create)
        return self.response(201, codes=[c.code for c in codes], batch=codes[0].batch)


__all__ = ["VoucherApi", "VoucherCode"]
