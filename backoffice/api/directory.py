"""The partner directory over REST: the shop reads findable partners, a partner keeps its services.

`DirectoryApi` (`/api/v1/directory/…`, read only; roles Shop, Staff, Finance, Partner) gives
what the public directory pages show and nothing more: findable partners (search by
category, postal code and radius, and name) with their active services and packages, one
partner's public profile, and the active categories. `MyServicesApi` (`/api/v1/my_services/`,
role Partner: the owner and the members of a partner's team) lists, creates, replaces and
deletes the own services; every service is looked up together with the token's partner, so
another partner's service is not found. Answers are in `Accept-Language` (German unless
English is asked for); refusals in the one error shape.
"""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urljoin

from flask import current_app, request
from flask_appbuilder.api import expose
from flask_appbuilder.security.decorators import protect
from flask_babel import get_locale
from flask_babel import gettext as _

from .. import transaction
from ..errors import Forbidden, RuleViolations
from ..extensions import db
from ..security import NO_PARTNER, current_partner_id
from ..services import directory, profiles
from ..services.categories import category_choices, usable_category
from .base import JsonErrorApi
from .errors import json_object
from .read import Fields, whole_arg

MAX_PAGE_SIZE = 50

MONEY = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$", "example": "49.00"}
NULLABLE_MONEY = {**MONEY, "nullable": True}
NULLABLE_TEXT = {"type": "string", "nullable": True}
PACKAGE_SCHEMA = {
    "type": "object", "required": ["name", "description", "price", "delivery_days"],
    "properties": {"name": {"type": "string"}, "description": NULLABLE_TEXT, "price": MONEY,
                   "delivery_days": {"type": "integer", "description": "delivery time in days"}},
}
PACKAGES = {"type": "array", "items": {"$ref": "#/components/schemas/DirectoryPackage"}}
SERVICE_SCHEMA = {
    "type": "object",
    "required": ["id", "category_id", "category", "title", "description", "price_from", "packages"],
    "properties": {"id": {"type": "integer"}, "category_id": {"type": "integer"},
                   "category": {"type": "string", "description": "full name, e.g. Handwerk › Elektro"},
                   "title": {"type": "string"}, "description": NULLABLE_TEXT, "price_from": NULLABLE_MONEY,
                   "packages": PACKAGES},
}
PARTNER_SCHEMA = {
    "type": "object",
    "required": ["partner_id", "display_name", "profile_text", "picture_url", "postal_code", "place",
                 "radius_km", "germany_wide", "languages", "distance_km", "services"],
    "properties": {
        "partner_id": {"type": "integer"}, "display_name": {"type": "string"},
        "profile_text": NULLABLE_TEXT, "picture_url": NULLABLE_TEXT,
        "postal_code": NULLABLE_TEXT, "place": NULLABLE_TEXT, "radius_km": {"type": "integer"},
        "germany_wide": {"type": "boolean"},
        "languages": {"type": "array", "items": {"type": "string"}},
        "distance_km": {"type": "number", "nullable": True,
                        "description": "from the searched postal code; null without one"},
        "services": {"type": "array", "items": {"$ref": "#/components/schemas/DirectoryService"}},
    },
}
MY_SERVICE_SCHEMA = {
    "type": "object",
    "required": ["id", "category_id", "title", "description", "price_from", "active", "packages"],
    "properties": {"id": {"type": "integer"}, "category_id": {"type": "integer"},
                   "title": {"type": "string"}, "description": NULLABLE_TEXT,
                   "price_from": NULLABLE_MONEY, "active": {"type": "boolean"}, "packages": PACKAGES},
}
MY_SERVICE_INPUT = {
    "type": "object", "required": ["category_id", "title"],
    "properties": {
        "category_id": {"type": "integer"}, "title": {"type": "string", "maxLength": 200},
        "description": NULLABLE_TEXT, "price_from": NULLABLE_MONEY,
        "active": {"type": "boolean", "default": True},
        "packages": {"type": "array", "maxItems": profiles.MAX_PACKAGES, "items": {
            "type": "object", "required": ["name", "price", "delivery_days"],
            "properties": {"name": {"type": "string", "maxLength": 120}, "description": NULLABLE_TEXT,
                           "price": MONEY, "delivery_days": {"type": "integer", "minimum": 0,
                                                             "maximum": 365}}}},
    },
}
COMPONENTS = {"DirectoryPackage": PACKAGE_SCHEMA, "DirectoryService": SERVICE_SCHEMA,
              "DirectoryPartner": PARTNER_SCHEMA, "MyService": MY_SERVICE_SCHEMA,
              "MyServiceInput": MY_SERVICE_INPUT}


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _package(package) -> dict:
    return {"name": package.name, "description": package.description, "price": _money(package.price),
            "delivery_days": package.delivery_days}


def _picture_url(picture: str | None) -> str | None:
    return urljoin(request.url_root, current_app.config["IMG_UPLOAD_URL"] + picture) if picture else None


def _partner(profile: directory.PublicProfile) -> dict:
    return {
        "partner_id": profile.partner_id, "display_name": profile.display_name,
        "profile_text": profile.profile_text, "picture_url": _picture_url(profile.picture),
        "postal_code": profile.postal_code, "place": profile.place, "radius_km": profile.radius_km,
        "germany_wide": profile.germany_wide, "languages": profile.languages,
        "distance_km": None if profile.distance_km is None else round(profile.distance_km, 1),
        "services": [{"id": s.id, "category_id": s.category_id, "category": s.category, "title": s.title,
                      "description": s.description, "price_from": _money(s.price_from),
                      "packages": [_package(p) for p in s.packages]} for s in profile.services],
    }


def _locale() -> str:
    return str(get_locale() or "de")


class _SpecComponents:
    def add_apispec_components(self, api_spec):
        super().add_apispec_components(api_spec)
        for name, schema in COMPONENTS.items():
            if name not in api_spec.components.schemas:
                api_spec.components.schema(name, schema)


class DirectoryApi(_SpecComponents, JsonErrorApi):
    resource_name = "directory"
    class_permission_name = "DirectoryApi"
    allow_browser_login = False
    method_permission_name = {"search": "get", "partner": "get", "categories": "get"}
    openapi_spec_tag = "Directory"

    @expose("/partners", methods=["GET"])
    @protect()
    def search(self):
        """Findable partners with their services and packages.
        ---
        get:
          summary: Search the directory (category, postal code and radius, name); nearest first
          description: >-
            Only partners with a published, listed profile and an active service (in the
            category, or for a top category in one of its subcategories) are found. With a
            postal code: partners within `radius_km` of it whose own service area reaches it,
            and Germany-wide partners, nearest first; without one, by name.
          parameters:
          - {in: query, name: category_id, schema: {type: integer, minimum: 1}}
          - {in: query, name: postal_code, schema: {type: string, example: "10115"}}
          - {in: query, name: radius_km, schema: {type: integer, minimum: 1, maximum: 500, default: 50}}
          - {in: query, name: name, schema: {type: string}, description: part of the display name}
          - {in: query, name: page, schema: {type: integer, minimum: 1, default: 1}}
          - {in: query, name: page_size, schema: {type: integer, minimum: 1, maximum: 50, default: 20}}
          responses:
            200:
              description: One page of findable partners
              content:
                application/json:
                  schema:
                    type: object
                    required: [total, page, pages, place, result]
                    properties:
                      total: {type: integer}
                      page: {type: integer}
                      pages: {type: integer}
                      place: {type: string, nullable: true, description: the searched postal code's place}
                      result: {type: array, items: {$ref: '#/components/schemas/DirectoryPartner'}}
            400:
              description: A parameter is not a number or out of range
            422:
              description: Unknown postal code or category
        """
        category_id = whole_arg("category_id")
        radius = whole_arg("radius_km", directory.DEFAULT_RADIUS_KM, 1, directory.MAX_SEARCH_RADIUS_KM)
        page = whole_arg("page", 1)
        page_size = whole_arg("page_size", directory.PAGE_SIZE, 1, MAX_PAGE_SIZE)
        if category_id is not None and usable_category(db.session, category_id) is None:
            raise RuleViolations({"category_id": [_("Choose a category from the list.")]})
        result = directory.search(db.session, category_id=category_id,
                                  postal_code=request.args.get("postal_code", "").strip() or None,
                                  radius_km=radius, name=request.args.get("name", ""), page=page,
                                  page_size=page_size)
        found = directory.public_profiles(db.session, result.hits, _locale())
        transaction.discard()
        return self.response(200, total=result.total, page=result.page, pages=result.pages,
                             place=result.place, result=[_partner(p) for p in found])

    @expose("/partners/<int:pk>", methods=["GET"])
    @protect()
    def partner(self, pk):
        """One findable partner's public profile.
        ---
        get:
          summary: Public profile with active services and packages
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: The profile
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/DirectoryPartner'}
            404:
              description: No findable partner with this id (unpublished, hidden, no active service)
        """
        found = directory.public_profile(db.session, pk, _locale())
        transaction.discard()
        return self.response(200, **_partner(found))

    @expose("/categories", methods=["GET"])
    @protect()
    def categories(self):
        """The active categories, top categories each followed by their subcategories.
        ---
        get:
          summary: Active categories (two levels), named in the answer's language
          responses:
            200:
              description: The categories
              content:
                application/json:
                  schema:
                    type: object
                    required: [result]
                    properties:
                      result:
                        type: array
                        items:
                          type: object
                          required: [id, name, parent_id]
                          properties:
                            id: {type: integer}
                            name: {type: string}
                            parent_id: {type: integer, nullable: true}
        """
        rows = category_choices(db.session, _locale())
        transaction.discard()
        return self.response(200, result=[{"id": c.id, "name": c.label, "parent_id": c.parent_id}
                                          for c in rows])


def _own_partner_id() -> int:
    partner_id = current_partner_id()
    if partner_id == NO_PARTNER:
        raise Forbidden("no_partner", _("This login works for no partner."))
    return partner_id


def _my_service(service) -> dict:
    return {"id": service.id, "category_id": service.category_id, "title": service.title,
            "description": service.description, "price_from": _money(service.price_from),
            "active": service.active, "packages": [_package(p) for p in service.packages]}


def _service_input(data: dict) -> tuple[dict, list[profiles.PackageInput]]:
    body = Fields(data)
    values = {"category_id": body.whole("category_id", required=True),
              "title": body.text("title", required=True), "description": body.text("description"),
              "price_from": body.amount("price_from"), "active": body.flag("active", True)}
    packages = []
    raw = data.get("packages", [])
    if not isinstance(raw, list):
        body.errors["packages"] = [_("Send a list of packages.")]
        raw = []
    elif len(raw) > profiles.MAX_PACKAGES:
        body.errors["packages"] = [_("At most %(n)s packages.", n=profiles.MAX_PACKAGES)]
        raw = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            body.errors[f"packages-{index}"] = [_("Send a JSON object.")]
            continue
        row = Fields(item, f"packages-{index}-")
        packages.append(profiles.PackageInput(row.text("name", required=True), row.text("description"),
                                              row.amount("price"), row.whole("delivery_days", required=True)))
        body.errors.update(row.errors)
    body.check()
    return values, packages


class MyServicesApi(_SpecComponents, JsonErrorApi):
    resource_name = "my_services"
    class_permission_name = "MyServicesApi"
    allow_browser_login = False
    method_permission_name = {"list_own": "get", "show": "get", "create": "post", "replace": "put",
                              "delete": "delete"}
    openapi_spec_tag = "Partner"

    @expose("/", methods=["GET"])
    @protect()
    def list_own(self):
        """The token's partner's services, active or not, with packages.
        ---
        get:
          summary: Own services (owner or team member)
          responses:
            200:
              description: The services, oldest first
              content:
                application/json:
                  schema:
                    type: object
                    required: [result]
                    properties:
                      result: {type: array, items: {$ref: '#/components/schemas/MyService'}}
        """
        rows = profiles.services_of(db.session, current_partner_id())
        answer = [_my_service(s) for s in rows]
        transaction.discard()
        return self.response(200, result=answer)

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    def show(self, pk):
        """One own service.
        ---
        get:
          summary: One own service with its packages
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: The service
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/MyService'}
            404:
              description: No such service of the token's partner
        """
        answer = _my_service(profiles.own_service(db.session, current_partner_id(), pk))
        transaction.discard()
        return self.response(200, **answer)

    @expose("/", methods=["POST"])
    @protect()
    def create(self):
        """Add a service with its packages.
        ---
        post:
          summary: New service (shown in the directory once active and the profile is published)
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/MyServiceInput'}
          responses:
            201:
              description: Created
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/MyService'}
            403:
              description: The login works for no partner
            422:
              description: Invalid fields (per field; a package's fields as `packages-<n>-<field>`)
        """
        partner_id = _own_partner_id()
        values, packages = _service_input(json_object())
        answer = transaction.run(lambda session: _my_service(
            profiles.save_service(session, partner_id, values, packages)))
        return self.response(201, **answer)

    @expose("/<int:pk>", methods=["PUT"])
    @protect()
    def replace(self, pk):
        """Replace an own service: all fields, the packages as sent.
        ---
        put:
          summary: Replace an own service and its packages
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/MyServiceInput'}
          responses:
            200:
              description: Saved
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/MyService'}
            404:
              description: No such service of the token's partner
            422:
              description: Invalid fields
        """
        partner_id = current_partner_id()
        profiles.own_service(db.session, partner_id, pk)  # another partner's: 404 before the body
        values, packages = _service_input(json_object())
        answer = transaction.run(lambda session: _my_service(
            profiles.save_service(session, partner_id, values, packages, service_id=pk)))
        return self.response(200, **answer)

    @expose("/<int:pk>", methods=["DELETE"])
    @protect()
    def delete(self, pk):
        """Delete an own service and its packages.
        ---
        delete:
          summary: Delete an own service
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: Deleted
              content:
                application/json:
                  schema: {type: object, required: [id], properties: {id: {type: integer}}}
            404:
              description: No such service of the token's partner
        """
        partner_id = current_partner_id()
        transaction.run(lambda session: profiles.delete_service(session, partner_id, pk))
        return self.response(200, id=pk)
