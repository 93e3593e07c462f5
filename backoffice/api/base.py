"""Shared behaviour of our REST APIs: the one error shape, rules on writes, never a 500.

FAB wraps its model endpoints in `@safe`, which answers any exception with a 500 and the
exception's text; a domain error raised in `pre_add` (a broken rule) would be one. Here the
writes run guarded: a `DomainError` answers in the one shape with its own status, and the
data interface (`backoffice.datamodel`) has already turned database refusals into one.
"""

from flask_appbuilder.api import BaseApi, ModelRestApi

from ..errors import DomainError
from ..extensions import db
from ..rules import apply_rules
from ..transaction import discard
from .errors import JsonErrors, domain_error_response


class ModelApi(JsonErrors, ModelRestApi):
    """FAB's model API whose writes answer domain errors in the one shape.

    Its `_info` describes the add and edit fields only where the API has the route that
    takes them, and never lists the records a related field could point at: FAB pages
    through every related table there (all addresses, partners, users), whatever the API's
    own row scope. Our APIs take related records by id."""

    allow_browser_login = False

    def _has_route(self, name: str) -> bool:
        return self.include_route_methods is None or name in self.include_route_methods

    def _get_fields_info(self, cols, model_schema, filter_rel_fields, **kwargs):
        if (model_schema is self.add_model_schema and not self._has_route("post")) or \
                (model_schema is self.edit_model_schema and not self._has_route("put")):
            return []
        return super()._get_fields_info(cols, model_schema, filter_rel_fields, **kwargs)

    def _get_list_related_field(self, field, filter_rel_field, page=None, page_size=None):
        return 0, []

    def _guarded(self, call):
        try:
            return call()
        except DomainError as exc:
            discard()
            return domain_error_response(exc)

    def post_headless(self):
        return self._guarded(super().post_headless)

    def put_headless(self, pk):
        return self._guarded(lambda: super(ModelApi, self).put_headless(pk))

    def delete_headless(self, pk):
        return self._guarded(lambda: super(ModelApi, self).delete_headless(pk))


class RulesApi(ModelApi):
    """Writes go through `backoffice.rules`; a broken rule answers 422 with field messages."""

    # Defaults for required columns a client may leave out (marshmallow ignores model defaults).
    add_defaults: dict = {}

    def _init_model_schemas(self):
        super()._init_model_schemas()
        model = self.datamodel.obj
        for schema in (self.add_model_schema, self.edit_model_schema):
            for name, field in schema.fields.items():
                column = model.__table__.columns.get(name)
                if column is not None and column.nullable:
                    field.allow_none = True
        for name, value in self.add_defaults.items():
            field = self.add_model_schema.fields[name]
            field.required = False
            enum_class = getattr(field, "enum", None)
            field.load_default = enum_class(value) if enum_class and isinstance(value, str) else value

    def pre_add(self, item):
        apply_rules(db.session, item)

    def pre_update(self, item):
        apply_rules(db.session, item)


class JsonErrorApi(JsonErrors, BaseApi):
    """A hand-written API: handlers raise `DomainError`s, the app's handler answers them."""
