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


def _integer_id(schema, name: str, inferred) -> None:
    """A foreign key is a JSON integer: the schema's inferred field took a list or an object
    and handed it to the database."""
    field = fields.Integer(strict=True, required=inferred.required, allow_none=inferred.allow_none)
    field._bind_to_schema(name, schema)
    for where in (schema.fields, schema.load_fields, schema.dump_fields):
        if name in where:
            where[name] = field


class ModelApi(JsonErrors, ModelRestApi):
    """FAB's model API whose writes answer domain errors in the one shape.

    Its `_info` describes the add and edit fields only where the API has the route that
    takes them, and never lists the records a related field could point at: FAB pages
    through every related table there (all addresses, partners, users), whatever the API's
    own row scope. Our APIs take related records by id.

    Labels and titles are the Desk's translated ones (`backoffice.labels`), given as
    `label_columns` and `list_title, show_title, add_title, edit_title`, and answered in
    the caller's language; FAB would make up English ones from the column names."""

    allow_browser_login = False

    def _has_route(self, name: str) -> bool:
        return self.include_route_methods is None or name in self.include_route_methods

    def _init_properties(self):
        # FAB adds its made-up labels to the dict in place: not to the one the Desk shares.
        self.label_columns = dict(self.label_columns or {})
        super()._init_properties()

    def _init_titles(self):
        """An API without the route for adding or editing has no form to name: its
        `add_title` and `edit_title` are the record's."""
        super()._init_titles()
        if not self._has_route("post"):
            self.add_title = self.show_title
        if not self._has_route("put"):
            self.edit_title = self.show_title

    def _label_columns_json(self, cols=None):
        # FAB passes each label through gettext again, which looks the German text up as a msgid.
        return {name: str(label) for name, label in self.label_columns.items() if name in (cols or [])}

    def _get_field_info(self, field, filter_rel_field, page=None, page_size=None):
        """The field's label in the caller's language; no description is "" (FAB's gettext("")
        answers the catalog's header)."""
        info = super()._get_field_info(field, filter_rel_field, page=page, page_size=page_size)
        info["label"] = str(self.label_columns.get(field.name) or field.name)
        info["description"] = str(self.description_columns.get(field.name) or "")
        return info

    def _get_fields_info(self, cols, model_schema, filter_rel_fields, **kwargs):
        if (model_schema is self.add_model_schema and not self._has_route("post")) or \
                (model_schema is self.edit_model_schema and not self._has_route("put")):
            return []
        return super()._get_fields_info(cols, model_schema, filter_rel_fields, **kwargs)

    def _get_list_related_field(self, field, filter_rel_field, page=None, page_size=None):
        return 0, []

    def add_apispec_components(self, api_spec):
        """The model schemas as the answers are: an id column is an integer, a nullable
        choice may be null (the generated spec leaves both out)."""
        super().add_apispec_components(api_spec)
        columns = self.datamodel.obj.__table__.columns
        for name, schema in api_spec.components.schemas.items():
            if not name.startswith(f"{type(self).__name__}."):
                continue
            for key, prop in (schema.get("properties") or {}).items():
                column = columns.get(key)
                if column is None:
                    continue
                if (key == "id" or key.endswith("_id")) and "type" not in prop:
                    prop["type"] = "integer"
                if column.nullable and prop.get("type") and "enum" not in prop:
                    prop["nullable"] = True
                if column.nullable and "enum" in prop and None not in prop["enum"]:
                    prop.update(enum=[*prop["enum"], None], nullable=True)

    def _init_model_schemas(self):
        super()._init_model_schemas()
        columns = self.datamodel.obj.__table__.columns
        for schema in (self.add_model_schema, self.edit_model_schema):
            for name, field in list(schema.fields.items()):
                if isinstance(field, fields.Boolean):
                    _json_boolean(field)
                elif name.endswith("_id") and isinstance(field, fields.Inferred) and name in columns:
                    _integer_id(schema, name, field)

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
