"""Statements of a hot path run straight on the driver's cursor.

A Core statement executed through SQLAlchemy costs some tens of microseconds of Python
per execution (cache key, parameter processing, result set-up) besides the database's
own work; a direct request sends seven of them, and a raw transaction doing the same
writes costs about as much in total. `DriverStatement` compiles its statement once per
dialect, converts the values with the statement's own bind processors (the same
conversions SQLAlchemy applies: UTC timestamps, money, enums) and runs it on the DBAPI
cursor of the session's connection, inside the session's transaction; the rows come
back through the columns' result processors as named tuples.

Only for statements whose every value is bound by the caller: an INSERT must name each
column it writes (no Python-side defaults are applied here, the compiler is asked to
prove that), and expanding IN lists are refused.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping

from sqlalchemy import bindparam, exc
from sqlalchemy.sql import Executable


class _Compiled:
    __slots__ = ("sql", "fixed", "order", "processors", "columns", "row", "results")

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
            raise ValueError("a driver statement must bind every column it writes")
        if any(bind.expanding for bind in compiled.bind_names):
            raise ValueError("a driver statement cannot expand IN lists")
        self.sql = compiled.string
        self.fixed = compiled.construct_params(_check=False)
        self.order = compiled.positiontup if dialect.positional else None
        self.processors = {}
        escaped = compiled.escaped_bind_names or {}
        for bind, name in compiled.bind_names.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors[escaped.get(name, name)] = processor
        self.columns = list(statement.selected_columns if statement.is_select else statement.exported_columns)
        self.row = namedtuple("Row", [c.key for c in self.columns], rename=True) if self.columns else None
        # The rows' converter (False: none needed), after the first execution: the result
        # processors depend on the driver's types.
        self.results = None

    def params(self, values: Mapping):
        params = dict(self.fixed)
        params.update(values)
        for name, processor in self.processors.items():
            params[name] = processor(params[name])
        if self.order is not None:
            return tuple(params[name] for name in self.order)
        return params


def _converter(processors: list) -> Callable[[tuple], list]:
    """A row's values through the columns' result processors, only the columns that have one
    (most have none: a ranking's row of 16 columns needs 3 converted on SQLite)."""
    needed = [(index, process) for index, process in enumerate(processors) if process is not None]

    def convert(row) -> list:
        values = list(row)
        for index, process in needed:
            values[index] = process(values[index])
        return values

    return convert


class DriverStatement:
    """`build(dialect name)` (a Core statement) compiled once per dialect and run on the
    driver."""

    def __init__(self, build: Callable[[str], Executable]):
        self._build = build
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _Compiled(self._build(dialect.name), dialect)
        return compiled

    def all(self, connection, values: Mapping) -> list:
        """Run it in the transaction of `connection` (a SQLAlchemy `Connection`): the rows
        as named tuples (none for a statement without result)."""
        dialect = connection.dialect
        compiled = self._for(dialect)
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            params = compiled.params(values)
            try:
                cursor.execute(compiled.sql, params)
            except dialect.loaded_dbapi.Error as error:
                # As SQLAlchemy raises it (IntegrityError, OperationalError, …): the callers'
                # conflict handlers and the unit of work's retries catch those, not the driver's.
                raise exc.DBAPIError.instance(compiled.sql, params, error, dialect.loaded_dbapi.Error,
                                              dialect=dialect) from error
            if compiled.row is None:
                return []
            rows = cursor.fetchall()
            if compiled.results is None:
                processors = [
                    column.type.dialect_impl(dialect).result_processor(dialect, description[1])
                    for column, description in zip(compiled.columns, cursor.description, strict=True)
                ]
                compiled.results = _converter(processors) if any(processors) else False
            make = compiled.row._make
            if not compiled.results:
                return [make(row) for row in rows]
            convert = compiled.results
            return [make(convert(row)) for row in rows]
        finally:
            cursor.close()

    def first(self, connection, values: Mapping):
        rows = self.all(connection, values)
        return rows[0] if rows else None

    def scalar(self, connection, values: Mapping):
        row = self.first(connection, values)
        return None if row is None else row[0]


def insert_of(table, *columns: str, returning_id: bool = False) -> DriverStatement:
    """An INSERT of exactly `columns` of `table`, each bound by its name (RETURNING the id
    where asked): the hot paths' inserts on the driver."""
    def build(_dialect):
        bound = {name: bindparam(name, type_=table.c[name].type) for name in columns}
        statement = table.insert().values(bound)
        return statement.returning(table.c.id) if returning_id else statement
    return DriverStatement(build)
