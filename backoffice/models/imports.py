"""The import log: one row per imported (or checked) file, who ran it and what it did (I2, I5)."""

from __future__ import annotations

import json

from flask_appbuilder import Model
from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Text

from .addresses import LabelledEnum, _enum
from .types import UTCDateTime, utcnow


class ImportStatus(LabelledEnum):
    uploaded = "uploaded"
    running = "running"
    checked = "checked"      # dry run finished: the report says what an import would do
    rejected = "rejected"    # errors found: nothing written
    imported = "imported"
    failed = "failed"        # the run broke off (e.g. the database went away): nothing written


ImportStatus.LABELS = {"uploaded": _l("Uploaded"), "running": _l("Running"), "checked": _l("Checked"),
                       "rejected": _l("Rejected"), "imported": _l("Imported"), "failed": _l("Failed")}


class ImportRun(Model):
    """A file and what became of it; the stored file lets staff check first and import later."""

    __tablename__ = "import_run"

    id = Column(Integer, primary_key=True)
    kind = Column(String(32), nullable=False, index=True)
    file_name = Column(String(255), nullable=False)
    file_path = Column(String(1000), nullable=True)
    file_size = Column(Integer, nullable=True)
    encoding = Column(String(32), nullable=True)
    separator = Column(String(8), nullable=True)
    dry_run = Column(Boolean, nullable=False, default=True)
    status = Column(_enum(ImportStatus, "import_status"), nullable=False, default=ImportStatus.uploaded)
    source = Column(String(16), nullable=False, default="desk")  # desk, cli, api
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True, index=True)
    actor = Column(String(100), nullable=True)
    task_id = Column(Integer, nullable=True)
    rows_total = Column(Integer, nullable=False, default=0)
    rows_done = Column(Integer, nullable=False, default=0)
    created = Column(Integer, nullable=False, default=0)
    updated = Column(Integer, nullable=False, default=0)
    unchanged = Column(Integer, nullable=False, default=0)
    rejected = Column(Integer, nullable=False, default=0)
    error_count = Column(Integer, nullable=False, default=0)
    # The first errors as JSON ([line, column, value, message]); the count says how many in all.
    errors_json = Column(Text, nullable=True)
    columns_json = Column(Text, nullable=True)
    message = Column(Text, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    finished_at = Column(UTCDateTime, nullable=True)

    @property
    def errors(self) -> list[list]:
        return json.loads(self.errors_json) if self.errors_json else []

    @property
    def columns(self) -> dict:
        return json.loads(self.columns_json) if self.columns_json else {}

    def __str__(self) -> str:
        return f"{self.kind}: {self.file_name} [{self.id}]"
