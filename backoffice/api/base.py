"""Shared behaviour of our REST APIs: the one error shape, rules on writes, never a 500.

FAB wraps its model endpoints in `@safe`, which answers any exception with a 500 and the
exception's text; a domain error raised in `pre_add` (a broken rule) would be one. Here the
writes run guarded: a `DomainError` answers in the one shape with its own status, and the
data interface (`backoffice.datamodel`) has already turned database refusals into one.
"""

from flask_appbuilder.api import BaseApi, ModelRestApi
from marshmallow import fields

from ..errors import DomainError
from ..extensions import db
from ..rules import apply_rules
from ..transaction import discard
from .errors import JsonErrors, domain_error_response


def _json_boolean(field: fields.Boolean) -> None:
    """JSON true/false only: marshmallow would also read "no", "0", "off" or 1."""
    def deserialize(value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise field.make_error("invalid", input=value)
        return value
    field._deserialize = deserialize


class ModelApi(JsonErrors, ModelRestApi):
    """FAB's model API whose writes answer domain errors in the one shape."""

    allow_browser_login = False

    def _init_model_schemas(self):
        super()._init_model_schemas()
        for schema in (self.add_model_schema, self.edit_model_schema):
            for field in schema.fields.values():
                if isinstance(field, fields.Boolean):
                    _json_boolean(field)

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
