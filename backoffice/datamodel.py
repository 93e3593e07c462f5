"""FAB's data interface, with its writes going through the one transaction module.

FAB's generated Desk forms and model APIs save through `SQLAInterface`, which commits by
itself and shows or returns `str(exception)` when the database refuses: the raw SQL with the
person's data. Here every save is a guarded unit of work (`backoffice.transaction`): a
refusal no rule foresaw (a race on a unique value) is rolled back and becomes a `Conflict`
with a message a user can act on.
"""

from __future__ import annotations

import contextlib

import sqlalchemy as sa
from flask_appbuilder.models.sqla import filters
from flask_appbuilder.models.sqla.interface import SQLAInterface

from . import transaction
from .local_values import filter_value
from .services.master_data import refuse_delete_if_used


class LocalValue:
    """A filter that reads its typed value the German or English way (`local_values`)."""

    def apply(self, query, value):
        return super().apply(query, filter_value(self.datamodel, self.column_name, value))


def _local(filter_classes):
    return [type(f.__name__, (LocalValue, f), {}) for f in filter_classes]


LOCAL_TYPES = ("is_integer", "is_float", "is_numeric", "is_date", "is_datetime")


class FilterConverter(filters.SQLAFilterConverter):
    """FAB's filters with German and English numbers and dates, plus times of day (a
    voucher's redemption window): FAB knows none and warned about every TIME column."""

    conversion_table = (
        *((test, _local(classes) if test in LOCAL_TYPES else classes)
          for test, classes in filters.SQLAFilterConverter.conversion_table),
        ("is_time", [filters.FilterEqual, filters.FilterGreater, filters.FilterSmaller,
                     filters.FilterNotEqual]),
    )


class Interface(SQLAInterface):
    filter_converter_class = FilterConverter

    def is_time(self, col_name: str) -> bool:
        try:
            return isinstance(self.list_columns[col_name].type, sa.Time)
        except KeyError:
            return False

    def _saving(self, commit: bool):
        return transaction.guarded(self.session) if commit else contextlib.nullcontext()

    def add(self, item, commit=True):
        with self._saving(commit):
            self.session.add(item)

    def edit(self, item, commit=True):
        with self._saving(commit):
            self.session.merge(item)

    def delete(self, item, commit=True):
        refuse_delete_if_used(self.session, item)
        with self._saving(commit):
            self._delete_files(item)
            self.session.delete(item)

    def delete_all(self, items):
        for item in items:
            refuse_delete_if_used(self.session, item)
        with self._saving(True):
            for item in items:
                self._delete_files(item)
                self.session.delete(item)
