"""What an import did or would do: counts and the row-level error report (I2)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _

from reports.tabular import write_csv, write_xlsx

# Enough for anyone to fix a file; the count still says how many there were in all.
MAX_ERRORS = 10_000


@dataclass
class RowError:
    line: int          # the row as a spreadsheet numbers it: the header is row 1
    column: str        # the file's own column name ("" for the row as a whole)
    value: str
    message: str

    def as_list(self) -> list:
        return [self.line, self.column, self.value, self.message]


@dataclass
class Report:
    kind: str
    dry_run: bool
    encoding: str = ""
    separator: str = ""
    columns: dict[str, str] = field(default_factory=dict)    # file column → field
    ignored_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)     # about ignored columns that look like data
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    bad_lines: set[int] = field(default_factory=set)
    problem: str | None = None     # the file as a whole could not be read
    _said: set = field(default_factory=set, repr=False)
    _unreadable: set = field(default_factory=set, repr=False)   # (line, column) of cells not read

    @property
    def ok(self) -> bool:
        return self.problem is None and self.error_count == 0

    @property
    def rejected(self) -> int:
        return len(self.bad_lines)

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run

    def error(self, line: int, column: str, value, message) -> None:
        said = (int(line), column, str(message))
        if said in self._said or (column and (int(line), column) in self._unreadable):
            return  # one cell, one message: a second rule saying the same adds nothing, and a
            # rule judging a cell that could not be read judges nothing the person typed
        self._said.add(said)
        self.error_count += 1
        self.bad_lines.add(int(line))
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(int(line), column, "" if value is None else str(value), str(message)))

    def unreadable(self, line: int, column: str, value, message) -> None:
        """A cell whose value could not be read: this is its only message."""
        self.error(line, column, value, message)
        self._unreadable.add((int(line), column))

    def as_dict(self) -> dict:
        return {
            "kind": self.kind, "dry_run": self.dry_run, "ok": self.ok, "written": self.written,
            "encoding": self.encoding, "separator": self.separator, "columns": self.columns,
            "ignored_columns": self.ignored_columns, "notes": self.notes, "rows": self.rows,
            "created": self.created,
            "updated": self.updated, "unchanged": self.unchanged, "rejected": self.rejected,
            "error_count": self.error_count, "problem": self.problem,
            "errors": [{"line": e.line, "column": e.column, "value": e.value, "message": e.message}
                       for e in self.errors],
        }


def error_headers() -> list[str]:
    return [_("Line"), _("Column"), _("Value"), _("Message")]


def errors_file(errors: list[list], fmt: str) -> bytes:
    """The error report to download; imported text may start with '=': the writers defuse it."""
    if fmt == "xlsx":
        return write_xlsx(error_headers(), errors, sheet_title=_("Errors"))
    return write_csv(error_headers(), errors)
