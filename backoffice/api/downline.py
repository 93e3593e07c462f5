"""REST API of the downline (D2–D5, A8): the pages' questions as JSON, for partners and staff.

Thin: parse, call `downline.*`, serialise. Who may ask what is decided by the permissions the
roles already hold on the two downline pages, so the API grants exactly what the pages grant:
`DeskDownlineView` makes the caller staff (any address, the upline in the breadcrumb, moves),
`MyDownlineView` a partner whose root is its own address. Every node goes through
`downline.navigator.node()` against that root (404 outside the own downline, also above it),
and every member is serialised with the visibility settings of its scope (contact data only
with consent). Errors are the one JSON shape of every API (`backoffice.api.errors`): a missing or bad token
is 401.
"""

from __future__ import annotations

import enum
import functools
from datetime import date, datetime

from flask import current_app, request
from flask_appbuilder.api import BaseApi, expose
from flask_babel import gettext as _
from flask_jwt_extended import verify_jwt_in_request
from sqlalchemy.exc import SQLAlchemyError

from downline import moves, navigator, new_customers, stats, visibility

from .. import transaction
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..models import AddressType
from ..security import current_partner_address_id
from .errors import JsonErrors, json_object
from .read import Fields, whole_arg

MEMBER_SCHEMA = {
    "type": "object",
    "description": "An address as the viewer may see it: `id`, `name`, `type`, `level`, the sizes, "
                   "and only the fields the visibility settings show in its scope (contact "
                   "fields null without consent).",
    "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"},
        "type": {"type": "string", "enum": [t.value for t in AddressType]},
        "level": {"type": "integer", "description": "levels below the viewer's root (staff: depth)"},
        "firstline_count": {"type": "integer"}, "downline_count": {"type": "integer"},
        **{f: {"type": "string", "nullable": True} for f in visibility.FIELDS},
    },
}
PAGE_SCHEMA = {"type": "object", "properties": {
    "node": {"$ref": "#/components/schemas/DownlineMember"},
    "fields": {"type": "array", "items": {"type": "string"}},
    "total": {"type": "integer"}, "page": {"type": "integer"}, "page_size": {"type": "integer"},
    "pages": {"type": "integer"},
    "result": {"type": "array", "items": {"$ref": "#/components/schemas/DownlineMember"}}}}


def viewer_access(permission: str):
    """Token required; staff if the caller may `permission` on the Desk page, a partner if on
    the partner page. The handler gets the viewer's root id (None: staff)."""

    def decorate(f):
        @functools.wraps(f)
        def wrapper(self, *args, **kwargs):
            verify_jwt_in_request()  # no or bad token: 401
            sm = current_app.appbuilder.sm
            if sm.has_access(f"can_{permission}", "DeskDownlineView"):
                root_id = None
            elif sm.has_access(f"can_{permission}", "MyDownlineView"):
                root_id = current_partner_address_id()
            else:
                return self.response_403()
            return f(self, root_id, *args, **kwargs)

        return wrapper

    return decorate


def _json(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _member(address, fields: list[str], scope: str | None, base_depth: int) -> dict:
    data = {"id": address.id, "name": address.name, "type": _json(address.type),
            "level": address.depth - base_depth, "firstline_count": address.firstline_count,
            "downline_count": address.downline_count}
    data.update({f: _json(visibility.value(address, f, scope)) for f in fields if f not in data})
    return data


# Pages and page sizes up to this: beyond, an offset overflows the database's integers.
MAX_PAGING = 10_000_000


class DownlineApi(JsonErrors, BaseApi):
    resource_name = "downline"
    allow_browser_login = False
    openapi_spec_tag = "Downline"
    openapi_spec_component_schemas = ()
    apispec_parameter_schemas = {}

    def add_apispec_components(self, api_spec):
        super().add_apispec_components(api_spec)
        for name, schema in (("DownlineMember", MEMBER_SCHEMA),
                             ("DownlinePage", PAGE_SCHEMA)):
            if name not in api_spec.components.schemas:
                api_spec.components.schema(name, schema)

    # --- helpers ------------------------------------------------------------------------------

    def _node(self, pk: int, root_id: int | None):
        return navigator.node(db.session, pk, root_id)

    def _base_depth(self, root_id: int | None) -> int:
        return 0 if root_id is None else self._node(root_id, root_id).depth

    def _describe(self, address, root_id: int | None) -> dict:
        scope = visibility.member_scope(address.sponsor_id, root_id)
        if root_id is not None and address.id == root_id:
            scope = "deeper"  # the own position: name, type, dates (the profile has the rest)
        return _member(address, visibility.fields_for(db.session, scope), scope, self._base_depth(root_id))

    # --- endpoints ----------------------------------------------------------------------------

    @expose("/me", methods=["GET"])
    @viewer_access("index")
    def me(self, root_id):
        """The partner's own position.
        ---
        get:
          summary: The logged-in partner's own node (staff have none, 404)
          responses:
            200:
              description: The node and its breadcrumb (just itself)
            404:
              description: No partner linked to this login
        """
        if root_id is None:
            raise NotFound("no_position", _("Staff have no own position; ask for /node/<id>."))
        return self._node_response(self._node(root_id, root_id), root_id)

    @expose("/node/<int:pk>", methods=["GET"])
    @viewer_access("node")
    def node(self, root_id, pk):
        """A node of the downline with its breadcrumb.
        ---
        get:
          summary: One address of the viewer's downline, with the breadcrumb from the viewer's root
          description: >-
            Partners reach their own address and its downline only (404 for anything else,
            the own upline included); the breadcrumb starts at the partner. Staff reach any
            address and the breadcrumb starts at the tree's root.
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: The node
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      node: {$ref: '#/components/schemas/DownlineMember'}
                      breadcrumb:
                        type: array
                        items:
                          type: object
                          properties: {id: {type: integer}, name: {type: string}}
            401:
              description: No or invalid token
            404:
              description: Not in the viewer's downline
        """
        return self._node_response(self._node(pk, root_id), root_id)

    def _node_response(self, address, root_id: int | None):
        crumbs = navigator.breadcrumb(db.session, address, root_id)
        return self.response(200, node=self._describe(address, root_id),
                             breadcrumb=[{"id": i, "name": name} for i, name in crumbs])

    @expose("/node/<int:pk>/firstline", methods=["GET"])
    @viewer_access("node")
    def firstline(self, root_id, pk):
        """One page of a node's firstline.
        ---
        get:
          summary: A page of the node's firstline with each member's firstline and downline size
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          - {in: query, name: page, schema: {type: integer, minimum: 0, default: 0}}
          - {in: query, name: page_size, schema: {type: integer, minimum: 1, maximum: 500, default: 50}}
          - in: query
            name: sort
            schema: {type: string, enum: [name, type, registered_at, first_order_at, firstline, downline, id]}
          - {in: query, name: desc, schema: {type: boolean}}
          - {in: query, name: type, schema: {type: string, enum: [new_customer, customer, partner]}}
          - {in: query, name: name, description: part of the name, schema: {type: string}}
          responses:
            200:
              description: The page
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/DownlinePage'}
            400:
              description: Invalid parameter
            404:
              description: Not in the viewer's downline
        """
        address = self._node(pk, root_id)
        sort = request.args.get("sort") or "name"
        type_ = request.args.get("type") or None
        if sort not in navigator.SORTS:
            raise InvalidInput("invalid_parameter", _("Unknown sort column %(name)s.", name=sort))
        if type_ is not None and type_ not in AddressType.__members__:
            raise InvalidInput("invalid_parameter", _("Unknown address type %(name)s.", name=type_))
        page = navigator.firstline(
            db.session, address, page=whole_arg("page", 0, 0, MAX_PAGING),
            page_size=whole_arg("page_size", navigator.PAGE_SIZE, 1, MAX_PAGING), sort=sort,
            desc=request.args.get("desc", "").lower() in ("1", "true"), type_=type_,
            name=request.args.get("name") or None)
        scope = visibility.member_scope(address.id, root_id)
        return self._page(address, root_id, page, scope)

    def _page(self, address, root_id, page, scope, fields=None):
        fields = fields if fields is not None else visibility.fields_for(db.session, scope)
        base = self._base_depth(root_id)
        return self.response(200, node=self._describe(address, root_id), fields=fields, total=page.total,
                             page=page.page, page_size=page.page_size, pages=page.pages,
                             result=[_member(m, fields, scope, base) for m in page.rows])

    @expose("/node/<int:pk>/new_customers", methods=["GET"])
    @viewer_access("new_customers")
    def new_customers(self, root_id, pk):
        """The new-customer navigator.
        ---
        get:
          summary: The node's direct firstline that never ordered, with the contact data allowed
          description: >-
            Partners: their own address only (the navigator is about the own firstline);
            contact fields as the visibility settings of the new-customer navigator allow,
            and only with the address's consent.
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          - {in: query, name: page, schema: {type: integer, minimum: 0, default: 0}}
          - {in: query, name: name, description: part of the name, schema: {type: string}}
          responses:
            200:
              description: The page, newest registrations first
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/DownlinePage'}
            404:
              description: Not the partner's own address
        """
        if root_id is not None and pk != root_id:
            raise NotFound("not_found", _("The new-customer navigator shows your own firstline only."))
        address = self._node(pk, root_id)
        page, fields = new_customers.page(db.session, address, page=whole_arg("page", 0, 0, MAX_PAGING),
                                          name=request.args.get("name") or None, staff=root_id is None)
        return self._page(address, root_id, page, None if root_id is None else "new_customers", fields)

    @expose("/node/<int:pk>/search", methods=["GET"])
    @viewer_access("node")
    def search(self, root_id, pk):
        """Search by name inside a downline.
        ---
        get:
          summary: Up to 50 addresses in the node's downline whose name contains `q`
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          - {in: query, name: q, required: true, schema: {type: string, minLength: 1}}
          responses:
            200:
              description: Matches, nearest level first
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      result:
                        type: array
                        items: {$ref: '#/components/schemas/DownlineMember'}
            404:
              description: Not in the viewer's downline
        """
        address = self._node(pk, root_id)
        query = (request.args.get("q") or "").strip()
        if not query:
            raise InvalidInput("invalid_parameter", _("Give a part of the name to search for (q)."))
        scopes = [None] if root_id is None else ["firstline", "deeper"]
        shown = {scope: visibility.fields_for(db.session, scope) for scope in scopes}
        base = self._base_depth(root_id)
        result = []
        for member in navigator.search(db.session, address, query):
            scope = visibility.member_scope(member.sponsor_id, root_id)
            result.append(_member(member, shown[scope], scope, base))
        return self.response(200, result=result)

    @expose("/node/<int:pk>/stats", methods=["GET"])
    @viewer_access("stats")
    def stats(self, root_id, pk):
        """Counts per level and address type.
        ---
        get:
          summary: Counts of the node's downline per level and address type, and totals
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: One entry per level (1 = the node's firstline)
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      levels: {type: array, items: {type: object}}
                      totals: {type: object}
            404:
              description: Not in the viewer's downline
        """
        result = stats.per_level(db.session, self._node(pk, root_id))
        return self.response(200, levels=result.levels, totals=result.totals)

    @expose("/move", methods=["POST"])
    @viewer_access("move")
    def move(self, root_id):
        """Move an address with its downline to a new sponsor (staff).
        ---
        post:
          summary: Move an address and its whole downline under a new sponsor, with a reason (audited)
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [address_id, new_sponsor_id, reason]
                  properties:
                    address_id: {type: integer}
                    new_sponsor_id: {type: integer}
                    reason: {type: string}
          responses:
            200:
              description: Moved; `moved` counts the address and its downline
            403:
              description: Not staff
            404:
              description: Unknown address (error unknown_address)
            409:
              description: >-
                The new sponsor sits in the address's downline or is the address (error cycle),
                the address is already there (no_change), or a concurrent change (conflict)
            422:
              description: Missing sponsor (missing_sponsor), reason (reason_required) or fields
        """
        data = json_object("reason")
        body = Fields(data)
        ids = [body.whole(name, required=True, message=_("Give an address number."))
               for name in ("address_id", "new_sponsor_id")]
        body.check(_("address_id and new_sponsor_id must be address numbers."))
        reason = str(data.get("reason") or "")
        try:
            result = transaction.run(lambda session: moves.move(session, ids[0], ids[1], reason), retries=2)
        except SQLAlchemyError as exc:
            raise Conflict("conflict", _("The tree changed at the same time; please try again.")) from exc
        return self.response(200, address_id=result.address_id, old_sponsor_id=result.old_sponsor_id,
                             new_sponsor_id=result.new_sponsor_id, moved=result.moved)
