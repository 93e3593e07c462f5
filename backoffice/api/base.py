"""Shared behaviour of our REST APIs: domain rules as 422, conflicts as 409, never a 500."""

from flask_appbuilder.api import BaseApi, ModelRestApi
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..extensions import db
from ..rules import RuleViolations, apply_rules
from .errors import JsonErrors


class RulesApi(JsonErrors, ModelRestApi):
    """Writes go through `backoffice.rules`; a broken rule answers 422 with field messages."""

    allow_browser_login = False
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

    def _guarded(self, call):
        try:
            return call()
        except RuleViolations as exc:
            db.session.rollback()
            return self.response_422(message=exc.errors)
        except IntegrityError as exc:
            db.session.rollback()
            return self.response(409, message=f"Conflicts with existing data: {exc.orig}")
        except SQLAlchemyError as exc:
            db.session.rollback()
            return self.response_400(message=f"Could not save: {exc.__class__.__name__}")

    def post_headless(self):
        return self._guarded(super().post_headless)

    def put_headless(self, pk):
        return self._guarded(lambda: super(RulesApi, self).put_headless(pk))

    def delete_headless(self, pk):
        return self._guarded(lambda: super(RulesApi, self).delete_headless(pk))


class JsonErrorApi(JsonErrors, BaseApi):
    """Errors as `{"error": <machine code>, "message": <text>}` with a 4xx status."""

    def _error(self, status: int, code: str, message, **extra):
        return self.response(status, error=code, message=str(message), **extra)
