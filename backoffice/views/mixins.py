"""What every Desk list and form shares: domain rules on forms, CSV/XLSX export."""

from __future__ import annotations

import copy
from zoneinfo import ZoneInfo

from flask import Response, current_app, request
from flask_appbuilder import expose, has_access
from flask_appbuilder.urltools import get_filter_args, get_order_args
from flask_babel import format_currency, format_decimal
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import BooleanField, SelectField
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired, InputRequired, Optional

from reports.tabular import write_csv, write_xlsx

from ..extensions import db
from ..local_values import moment_text
from ..rules import CLEANERS, RELATION_IDS, apply_rules, record_fields, values_of
from ..timezones import viewer_time_zone
from .localized import LocalizedMixin, file_name


def own_id():
    pk = (request.view_args or {}).get("pk")
    return int(pk) if pk is not None and str(pk).isdigit() else None


def with_rules(form_cls, model):
    """Extend a FAB form so the domain rules report next to their fields."""

    class RuledForm(form_cls):
        def validate(self, extra_validators=None):
            ok = super().validate(extra_validators)
            pk = own_id()
            # Rules judge the whole record: fields not on this form keep their stored values.
            stored = db.session.get(model, pk) if pk is not None else None
            values = values_of(stored, record_fields(model)) if stored is not None else {}
            for name, field in self._fields.items():
                value = field.data
                if hasattr(value, "__table__"):
                    values[f"{name}_id"] = value.id
                elif name in RELATION_IDS:
                    values[RELATION_IDS[name]] = None
                else:
                    values[name] = value
            with db.session.no_autoflush:
                _, errors = CLEANERS[model](db.session, values, pk)
            shown = False
            for field, messages in errors.items():
                target = self._fields.get(field) or self._fields.get(field.removesuffix("_id"))
                if target is not None:
                    target.errors = list(target.errors) + messages
                    shown = True
            if errors and not shown:
                self.form_errors = list(self.form_errors) + [
                    m for msgs in errors.values() for m in msgs
                ]
            return ok and not errors

    RuledForm.__name__ = form_cls.__name__
    return RuledForm


def optional_checkboxes(form_cls):
    """FAB makes NOT NULL booleans InputRequired: an unticked box (False) could never be saved."""
    for value in vars(form_cls).values():
        if isinstance(value, UnboundField) and issubclass(value.field_class, BooleanField):
            value.kwargs["validators"] = [v for v in value.kwargs.get("validators") or []
                                          if not isinstance(v, InputRequired | DataRequired)]
    return form_cls


class CheckboxesMixin(LocalizedMixin):
    """Unticked boxes are a valid answer (False) on every generated add/edit form; numbers
    and dates are read and shown in the UI language (`LocalizedMixin`)."""

    def _init_forms(self):
        super()._init_forms()
        self.add_form = optional_checkboxes(self.add_form)
        self.edit_form = optional_checkboxes(self.edit_form)


class RulesMixin(CheckboxesMixin):
    """Forms validate with `backoffice.rules`; the model is normalised before it is saved."""

    def _init_forms(self):
        super()._init_forms()
        model = self.datamodel.obj
        if model in CLEANERS:
            self.add_form = with_rules(self.add_form, model)
            self.edit_form = with_rules(self.edit_form, model)

    def pre_add(self, item):
        apply_rules(db.session, item)

    def pre_update(self, item):
        apply_rules(db.session, item)


class RecordLinksMixin:
    """No dead ends: a record's show page leads on (`record_links(item)`: label, href, icon,
    test id of the pages about it the user may open), and a list may say where its records
    come from (`list_help()`)."""

    show_template = "partnerdesk/show_with_links.html"

    def record_links(self, item) -> list[tuple]:
        return []

    def list_help(self):
        return None

    def render_template(self, template, **kwargs):
        if template == self.show_template and "pk" in kwargs:
            item = self.datamodel.get(kwargs["pk"], self._base_filters)
            kwargs["record_links"] = self.record_links(item) if item is not None else []
        elif template == self.list_template:
            kwargs["list_help"] = self.list_help()
        return super().render_template(template, **kwargs)


def may(permission: str, view: str) -> bool:
    return current_app.appbuilder.sm.has_access(permission, view)


def enum_select(label, enum_class, blank: bool = False, **kwargs) -> SelectField:
    """A select of an enum with translated labels (FAB's own shows raw values, no blank)."""

    def choices():
        options = [(m.value, str(m)) for m in enum_class]
        return [("", "—"), *options] if blank else options

    def coerce(value):
        if value is None or value == "":
            return None
        return enum_class(value)

    validators = [Optional()] if blank else [DataRequired()]
    return SelectField(label, choices=choices, coerce=coerce, validators=validators, **kwargs)


def label_of(enum_class):
    """List/show formatter: the translated label of an enum value (FAB prints the raw value)."""

    def format_label(value):
        if value is None or value == "":
            return ""
        try:
            return str(enum_class(value))
        except ValueError:
            return value

    return format_label


def local_datetime(value):
    return moment_text(value)


def money(value):

    return "" if value is None else format_currency(value, "EUR")


def percent(value):
    return "" if value is None else f"{format_decimal(value.normalize())} %"


def yes_no(value):
    return Markup('<i class="fa fa-check"></i>') if value else ""


class ExportMixin(LocalizedMixin):
    """`/export/xlsx` and `/export/csv` of the current filtered, sorted list.

    Uses the view's own base filters, so a partner's export holds exactly what its list
    shows. `export_columns` defaults to the list columns; the file is named after the
    list's title in the UI language.
    """

    list_template = "partnerdesk/list_with_export.html"
    export_columns: list[str] | None = None

    def _export_rows(self, columns):
        filters = copy.copy(self._filters)  # keeps the allowed search columns
        get_filter_args(filters)
        order_column, order_direction = get_order_args().get(self.__class__.__name__, ("", ""))
        if not order_column and self.base_order:
            order_column, order_direction = self.base_order
        joined = filters.get_joined_filters(self._base_filters)
        query = self.datamodel.apply_all(
            self.datamodel.session.query(self.datamodel.obj), joined, order_column, order_direction
        )
        for item in query.yield_per(1000):
            yield [_value(item, c) for c in columns]

    @expose("/export/<fmt>")
    @has_access
    def export(self, fmt):
        columns = self.export_columns or self.list_columns
        headers = [str(self.label_columns.get(c, c)) for c in columns]
        tz = ZoneInfo(viewer_time_zone())
        name = file_name(self.list_title or self.__class__.__name__.removesuffix("View"))
        if fmt == "csv":
            body = write_csv(headers, self._export_rows(columns), tz)
            mimetype = "text/csv; charset=utf-8"
        elif fmt == "xlsx":
            money_cols = [i for i, c in enumerate(columns) if c in getattr(self, "money_columns", ())]
            body = write_xlsx(headers, self._export_rows(columns), tz,
                              sheet_title=str(self.list_title or name), money_columns=money_cols)
            mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            return Response(str(_l("Unknown export format.")), status=404)
        self._log_export(fmt)
        return Response(body, mimetype=mimetype, headers={
            "Content-Disposition": f'attachment; filename="{name}.{fmt}"'
        })

    def _log_export(self, fmt):
        """Hook for logging exports of personal data (see the downline work)."""


def _value(item, column):
    value = item
    for part in column.split("."):
        value = getattr(value, part, None) if value is not None else None
    if callable(value):
        value = value()
    if hasattr(value, "__table__"):
        return str(value)
    return value


__all__ = ["ExportMixin", "RulesMixin", "escape", "local_datetime", "money", "yes_no"]
