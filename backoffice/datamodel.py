"""FAB's data interface, with its writes going through the one transaction module.

FAB's generated Desk forms and model APIs save through `SQLAInterface`, which commits by
itself and shows or returns `str(exception)` when the database refuses: the raw SQL with the
person's data. Here every save is a guarded unit of work (`backoffice.transaction`): a
refusal no rule foresaw (a race on a unique value) is rolled back and becomes a `Conflict`
with a message a user can act on.
"""

from __future__ import annotations

import contextlib

from flask_appbuilder.models.sqla.interface import SQLAInterface

from . import transaction


class Interface(SQLAInterface):
    def _saving(self, commit: bool):
        return transaction.guarded(self.session) if commit else contextlib.nullcontext()

    def add(self, item, commit=True):
        with self._saving(commit):
            self.session.add(item)

    def edit(self, item, commit=True):
        with self._saving(commit):
            self.session.merge(item)

    def delete(self, item, commit=True):
        with self._saving(commit):
            self._delete_files(item)
            self.session.delete(item)

    def delete_all(self, items):
        with self._saving(True):
            for item in items:
                self._delete_files(item)
                self.session.delete(item)
