"""FAB's data interface for Desk views, with database errors turned into plain messages.

FAB flashes `str(exception)` when a save fails: the raw SQL with the person's data. Rules
catch nearly everything before that; what is left (a race on a unique value) gets a
message a user can act on, and the transaction is rolled back.
"""

from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError, SQLAlchemyError


class SaveError(Exception):
    """A save failed in the database; the message is safe to show."""


class DeskInterface(SQLAInterface):
    def _safely(self, action, item, commit):
        try:
            action(item, commit=commit)
        except IntegrityError as exc:
            self.session.rollback()
            raise SaveError(_("Not saved: the record conflicts with existing data "
                              "(a unique value is taken or a referenced record is in use).")) from exc
        except SQLAlchemyError as exc:
            self.session.rollback()
            raise SaveError(_("Not saved: the database refused the change.")) from exc

    def add(self, item, commit=True):
        self._safely(super().add, item, commit)

    def delete(self, item, commit=True):
        self._safely(super().delete, item, commit)
