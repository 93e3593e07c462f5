"""Addresses with their sponsors, e.g. from an older system (I1): a million rows in one go.

Before any row is written, one pass over the file reads only the keys and sponsor
references: duplicates in the file, matches with existing addresses (by external key,
then e-mail), sponsors given by external key, e-mail or id (in the database or anywhere
in the file, also further down), and cycles among the file's references (the rows a
cycle leaves unplaced are reported with networkx's cycle finder). New rows get their ids
and the downline's derived columns (path, depth, sizes) computed here, level by level,
so the rows can be written in bulk; ancestors already in the database get their sizes
raised once at the end.

Each row's own values go through the same `clean_address` rules as the Desk and the API.
An existing address is updated in place; a different sponsor for it is a move through
`downline.moves` (audited, cycle-checked). An empty sponsor cell never removes a sponsor.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import networkx as nx
import numpy as np
import pandas as pd
from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select, text

from backoffice.audit import current_actor
from backoffice.bulk import BackgroundWriter, SecondaryIndexes, insert_rows_on
from backoffice.models import Address, AddressTree, AddressType, Language, RegistrationSource, Salutation
from backoffice.models.types import utcnow
from backoffice.rules import clean_address, email_key
from downline import counters
from downline.moves import move
from downline.placement import Place, place
from downline.sponsors import SponsorError
from downline.tree import ROOT_PATH, ids_in, lock_rows

from ..report import Report
from ..values import WHOLE_NUMBER
from .base import Field, Kind, batched, lookup, present

COLUMNS = ("id", "type", "salutation", "first_name", "last_name", "company", "email", "phone", "street",
           "postal_code", "city", "country", "language", "registration_source", "registered_at",
           "first_order_at", "sponsor_id", "consent_contact_by_sponsor", "consent_marketing",
           "external_key", "created_at", "updated_at", "firstline_count", "downline_count")
TREE_COLUMNS = ("address_id", "path", "depth", "type")
TEXT_FIELDS = ("first_name", "last_name", "company", "email", "phone", "street", "postal_code", "city",
               "country", "external_key")
RECORD_FIELDS = frozenset((*TEXT_FIELDS, "salutation", "type", "language"))
REFERENCE_FIELDS = ("external_key", "email", "sponsor_external_key", "sponsor_email", "sponsor_id")

TYPES = {"neukunde": "new_customer", "newcustomer": "new_customer", "new_customer": "new_customer",
         "kunde": "customer", "customer": "customer", "partner": "partner", "partnerin": "partner",
         "berater": "partner", "beraterin": "partner"}
SALUTATIONS = {"herr": "mr", "mr": "mr", "frau": "ms", "ms": "ms", "mrs": "ms", "divers": "diverse",
               "diverse": "diverse", "mx": "diverse", "firma": "company", "company": "company"}
REBUILD_INDEXES_FROM = 20_000  # new rows from which rebuilding the indexes beats updating them
LANGUAGES = {"de": "de", "deutsch": "de", "german": "de", "en": "en", "englisch": "en", "english": "en"}


class Addresses(Kind):
    name = "addresses"
    one_of = ("external_key", "email")
    fields = (
        Field("external_key", ("Externer Schlüssel", "Kundennummer", "Kunden-Nr", "Key", "Ext. Key"),
              example="ALT-100231"),
        Field("salutation", ("Anrede",), example="Frau"),
        Field("first_name", ("Vorname", "First name"), example="Erika"),
        Field("last_name", ("Nachname", "Name", "Last name"), required=True, example="Mustermann"),
        Field("company", ("Firma", "Company"), example=""),
        Field("email", ("E-Mail", "E-Mail-Adresse", "Mail", "Email address"), example="erika@example.org"),
        Field("phone", ("Telefon", "Tel", "Phone"), example="+49 30 1234567"),
        Field("street", ("Straße", "Strasse", "Street"), example="Hauptstraße 5"),
        Field("postal_code", ("PLZ", "Postleitzahl", "Postal code", "Zip"), example="10115"),
        Field("city", ("Ort", "Stadt", "City"), example="Berlin"),
        Field("country", ("Land", "Country"), example="DE"),
        Field("language", ("Sprache", "Language"), example="de"),
        Field("type", ("Adressart", "Typ", "Type", "Address type"), example="Neukunde"),
        Field("registered_at", ("Registriert am", "Anmeldedatum", "Registered"), type="date",
              example="31.10.2026"),
        Field("sponsor_external_key", ("Sponsor", "Sponsor-Kundennummer", "Sponsor Key",
                                       "Sponsor externer Schlüssel"), example="ALT-100007"),
        Field("sponsor_email", ("Sponsor-E-Mail", "Sponsor E-Mail", "Sponsor email"), example=""),
        Field("sponsor_id", ("Sponsor-ID", "Sponsor-Nr", "Sponsor id"), type="integer", example=""),
        Field("consent_contact_by_sponsor", ("Kontakt durch Sponsor", "Kontakt durch Sponsor erlaubt",
                                             "Contact by sponsor"), type="boolean", example="ja"),
        Field("consent_marketing", ("Werbung", "Werbung erlaubt", "Marketing"), type="boolean",
              example="nein"),
    )

    def required_in_every_row(self, name: str) -> bool:
        # An update's empty cell keeps the stored value; a new address's is refused by the rules
        # (`clean_address`), with the same message.
        return False

    # --- the pass over the whole file ---------------------------------------------------

    def __init__(self):
        self.writer = BackgroundWriter()
        self.update_pos: dict[int, int] = {}

    def prepare(self, session, table, report: Report) -> None:
        self.now = utcnow()
        self.zone = ZoneInfo(current_app.config.get("COMPANY_TIME_ZONE", "Europe/Berlin")
                             if has_app_context() else "Europe/Berlin")
        # Every pass over the table yields the same records: `_pos` is a row's place in these arrays.
        frames = list(table.chunks(200_000, fields=list(REFERENCE_FIELDS)))
        refs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["_line"])
        del frames
        n = len(refs)
        col = self.column_of
        key = present(refs, "external_key")
        mail = pd.Series([email_key(v) for v in present(refs, "email").tolist()], dtype=object)
        raw = self.raw = {name: present(refs, name).tolist() for name in REFERENCE_FIELDS}
        self.bad = np.zeros(n, dtype=bool)
        lines = refs["_line"].to_numpy()

        # Duplicates in the file.
        for name, values in (("external_key", key), ("email", mail)):
            dup = (values != "") & values.duplicated(keep=False)
            if dup.any():
                first = values[dup].groupby(values[dup]).transform(lambda s: s.index[0])
                for i in first.index[first.index != first.to_numpy()]:
                    report.error(lines[i], col[name], raw[name][i],
                                 _("Appears already in line %(line)s.", line=lines[first[i]]))
                    self.bad[i] = True

        # Matches with the database: external key first, then e-mail.
        key, mail = key.tolist(), mail.tolist()
        by_key = lookup(session, (Address.external_key, Address.id), Address.external_key, key)
        by_mail = lookup(session, (Address.email, Address.id), Address.email, mail)
        existing = np.zeros(n, dtype=np.int64)
        for i, (k, m) in enumerate(zip(key, mail, strict=True)):
            a = by_key[k].id if k in by_key else 0
            b = by_mail[m].id if m in by_mail else 0
            if a and b and a != b:
                report.error(lines[i], col["email"], raw["email"][i],
                             _("Another address (%(id)s) already uses this e-mail address.", id=b))
                self.bad[i] = True
            existing[i] = a or b
        self.existing = existing

        # Sponsors: a row of the file (index) or an address in the database (id).
        row_of_key = {k: i for i, k in enumerate(key) if k}
        row_of_mail = {m: i for i, m in enumerate(mail) if m}
        s_key = present(refs, "sponsor_external_key")
        s_mail = pd.Series([email_key(v) for v in present(refs, "sponsor_email").tolist()], dtype=object)
        s_id = present(refs, "sponsor_id")
        db_key = lookup(session, (Address.external_key, Address.id), Address.external_key,
                        [k for k in set(s_key) if k not in row_of_key])
        db_mail = lookup(session, (Address.email, Address.id), Address.email,
                         [m for m in set(s_mail) if m not in row_of_mail])
        wanted_ids = [int(v) for v in set(s_id) if WHOLE_NUMBER.fullmatch(v)]
        db_ids = {row.id: row for row in _rows_by_id(session, wanted_ids)}
        parent_row = np.full(n, -1, dtype=np.int64)
        parent_db = np.zeros(n, dtype=np.int64)
        given = (s_key != "").to_numpy() | (s_mail != "").to_numpy() | (s_id != "").to_numpy()
        # The usual case in one vectorised step: only a sponsor key, naming a row of the file.
        key_only = (s_key != "") & (s_mail == "") & (s_id == "")
        hits = s_key[key_only].map(row_of_key).dropna()
        at, rows = hits.index.to_numpy(), hits.to_numpy(dtype=np.int64)
        known = existing[rows]
        parent_db[at[known > 0]] = known[known > 0]
        parent_row[at[known == 0]] = rows[known == 0]
        given[at] = False
        s_key, s_mail, s_id = s_key.tolist(), s_mail.tolist(), s_id.tolist()
        for i in np.flatnonzero(given):
            found = set()
            for name, value, in_file, in_db in (
                    ("sponsor_external_key", s_key[i], row_of_key, db_key),
                    ("sponsor_email", s_mail[i], row_of_mail, db_mail)):
                if not value:
                    continue
                if value in in_file:
                    row = in_file[value]
                    found.add(("db", int(existing[row])) if existing[row] else ("row", row))
                elif value in in_db:
                    found.add(("db", in_db[value].id))
                else:
                    report.error(lines[i], col[name], raw[name][i], _("No address with this sponsor key."))
                    self.bad[i] = True
            if s_id[i]:
                # Read as the integer parser reads it ("+7" is 7); what it cannot read, it reports.
                sid = int(s_id[i]) if WHOLE_NUMBER.fullmatch(s_id[i]) else None
                if sid in db_ids:
                    found.add(("db", sid))
                elif sid is not None:
                    report.error(lines[i], col["sponsor_id"], s_id[i],
                                 _("Sponsor %(id)s does not exist.", id=s_id[i]))
                    self.bad[i] = True
            if len(found) > 1:
                report.error(lines[i], col.get("sponsor_external_key") or col.get("sponsor_email") or
                             col["sponsor_id"], "", _("The sponsor columns name different addresses."))
                self.bad[i] = True
            elif found:
                where, ref = found.pop()
                if where == "row":
                    parent_row[i] = ref
                else:
                    parent_db[i] = ref
        self.parent_row, self.parent_db = parent_row, parent_db
        self.lines = lines
        # The lookups of this pass are done with: let them go before the paths are built.
        del refs, key, mail, s_key, s_mail, s_id, row_of_key, row_of_mail, hits, by_key, by_mail
        self._place_new_rows(session, report, n)
        # From here on the typed references are only shown for rows that update an address (a
        # move into its own downline): the new rows' strings are let go (a first import of a
        # million rows: some 200 MB).
        updating = (existing > 0).tolist()
        self.raw = {name: [v if u else "" for v, u in zip(values, updating, strict=True)]
                    for name, values in raw.items()}
        # The paths of new rows are read once, by the chunk that writes them, unless sponsor moves
        # of existing addresses need the whole new tree at the end.
        self.keep_paths = any(updating)

    def _place_new_rows(self, session, report, n) -> None:
        """Depth, path and sizes of the new rows (`downline.placement`); cycles among the
        file's references reported."""
        new = self.existing == 0
        parent_row, parent_db = self.parent_row, self.parent_db
        # A new row under an existing one hangs below that address's place in the database.
        under_existing = (parent_row >= 0) & ~new[np.maximum(parent_row, 0)]
        parent_db[under_existing] = self.existing[parent_row[under_existing]]
        parent_row[under_existing] = -1
        db_parents = sorted(set(parent_db[new & (parent_db > 0)].tolist()))
        db_places = {row.id: Place(row.path, row.depth) for row in _rows_by_id(session, db_parents)}
        ids = self._new_ids(session, int(new.sum()))
        self.indexes = [SecondaryIndexes(session, "address"), SecondaryIndexes(session, "address_tree")]
        if not self.dry_run and len(ids) >= REBUILD_INDEXES_FROM and \
                len(ids) >= session.execute(select(func.count(Address.id))).scalar() // 2:
            for indexes in self.indexes:
                indexes.drop()
        self.ids = np.zeros(n, dtype=np.int64)
        self.ids[new] = ids
        self.ids[~new] = self.existing[~new]
        placement = place(self.ids, parent_row, parent_db, db_places, new=new)
        self._report_cycles(report, placement.stuck)
        self.depth, self.path = placement.depth, placement.path
        self.firstline, self.downline = placement.firstline, placement.downline
        # What the new rows add to addresses already in the database (and their uplines).
        self.first_delta, self.down_delta = placement.firstline_added, placement.downline_added

    def _report_cycles(self, report: Report, stuck: np.ndarray) -> None:
        if not len(stuck):
            return
        graph = nx.DiGraph()
        graph.add_edges_from((int(i), int(self.parent_row[i])) for i in stuck)
        in_cycle = {}
        for cycle in nx.simple_cycles(graph):
            start = cycle.index(min(cycle))
            cycle = cycle[start:] + cycle[:start]
            shown = " → ".join(str(self.lines[i]) for i in [*cycle, cycle[0]])
            for i in cycle:
                in_cycle[i] = shown
        for i in stuck:
            i = int(i)
            if i in in_cycle:
                message = _("The sponsor references form a cycle: lines %(lines)s.", lines=in_cycle[i])
            else:
                message = _("The sponsor chain runs into a cycle of sponsor references.")
            report.error(self.lines[i], *self._sponsor_cell(i), message)
            self.bad[i] = True

    def _sponsor_cell(self, i: int) -> tuple[str, str]:
        """The file's column and value naming row `i`'s sponsor (the first sponsor column it fills)."""
        names = [n for n in ("sponsor_external_key", "sponsor_email", "sponsor_id") if n in self.column_of]
        name = next((n for n in names if self.raw[n][i]), names[0] if names else "")
        return self.column_of.get(name, ""), self.raw[name][i] if name else ""

    def _new_ids(self, session, count: int) -> np.ndarray:
        """Ids for the new rows: the sequence on PostgreSQL (safe beside other writers), after the
        current maximum on SQLite (whose write lock the import holds from its first write)."""
        if not count:
            return np.zeros(0, dtype=np.int64)
        conn = session.connection()
        if self.dry_run:  # ids only to place the rows: nothing is reserved or locked
            start = session.execute(select(func.coalesce(func.max(Address.id), 0))).scalar() + 1
            return np.arange(start, start + count, dtype=np.int64)
        if conn.dialect.name == "postgresql":
            rows = conn.execute(text("SELECT nextval(pg_get_serial_sequence('address', 'id')) "
                                     "FROM generate_series(1, :n)"), {"n": count}).scalars().all()
            return np.array(sorted(rows), dtype=np.int64)
        conn.execute(text("UPDATE address SET id = id WHERE 0"))  # takes SQLite's write lock now
        start = session.execute(select(func.coalesce(func.max(Address.id), 0))).scalar() + 1
        return np.arange(start, start + count, dtype=np.int64)

    # --- the rows -------------------------------------------------------------------------

    def process(self, session, frame: pd.DataFrame, report: Report, write: bool) -> None:
        col = self.column_of
        pos = frame["_pos"].to_numpy()
        last_pos = int(pos.max()) if len(pos) else -1
        # Plain lists per chunk: the row loop below runs a million times.
        existing, bad = self.existing[pos].tolist(), self.bad[pos].tolist()
        # The rows to write are only built when they will be written: a dry run (or the rest of a
        # file after its first error) checks every row and counts the new ones.
        rows_wanted = write and report.ok
        if rows_wanted:
            parent_db, parent_row = self.parent_db[pos].tolist(), self.parent_row[pos].tolist()
            ids, paths, depths = self.ids[pos].tolist(), self.path[pos].tolist(), self.depth[pos].tolist()
            if not self.keep_paths:
                self.path[pos] = None
            firstline, downline = self.firstline[pos].tolist(), self.downline[pos].tolist()
            parent_ids = self.ids[np.maximum(self.parent_row[pos], 0)].tolist()
        lines = frame["_line"].tolist()
        texts = {name: frame[name].tolist() for name in TEXT_FIELDS if name in frame.columns}
        choices = self._choices(frame, lines, report)
        flags = {name: frame[name].tolist() for name in ("consent_contact_by_sponsor", "consent_marketing")
                 if name in frame.columns}
        registered = self._registered(frame) if rows_wanted else None
        existing_values = self._existing_values(session, [e for e in existing if e])  # waits for the writer
        new_rows, tree_rows, deferred, updates = [], [], [], {}
        counted = 0
        source = RegistrationSource["import"].value
        for i, line in enumerate(lines):
            values = {name: column[i] or None for name, column in texts.items()}
            for name, column in choices.items():
                values[name] = column[i]
            if existing[i]:  # the whole record is checked, as in the Desk form: stored values fill in
                values = {**{k: v for k, v in existing_values[existing[i]].items() if k in RECORD_FIELDS},
                          **{k: v for k, v in values.items() if v is not None}}
            values, errors = clean_address(session, values, existing[i] or None, database=False)
            for name, messages in errors.items():
                for message in messages:
                    report.error(line, col.get(name, name), texts[name][i] if name in texts else "", message)
            if errors or bad[i] or line in report.bad_lines:
                continue
            for name, column in flags.items():
                if column[i] is not None:
                    values[name] = column[i]
            if existing[i]:
                self._compare(existing[i], values, existing_values, updates, pos[i], report)
                continue
            if not rows_wanted:
                counted += 1
                continue
            sponsor = parent_db[i] or (parent_ids[i] if parent_row[i] >= 0 else None)
            if parent_row[i] > last_pos:  # its sponsor is written by a later chunk
                deferred.append({"b_id": ids[i], "b_sponsor": sponsor})
                sponsor = None
            type_ = values.get("type") or "new_customer"
            tree_rows.append((ids[i], paths[i], depths[i], type_))
            new_rows.append((
                ids[i], type_, values.get("salutation"),
                values.get("first_name"), values["last_name"], values.get("company"), values.get("email"),
                values.get("phone"), values.get("street"), values.get("postal_code"), values.get("city"),
                values.get("country") or "DE", values.get("language") or "de", source,
                registered[i] or self.now, None, sponsor, values.get("consent_contact_by_sponsor", False),
                values.get("consent_marketing", False), values.get("external_key"), self.now, self.now,
                firstline[i], downline[i]))
        report.created += len(new_rows) + counted
        report.updated += len(updates)
        self.deferred = getattr(self, "deferred", []) + deferred
        self.updates = {**getattr(self, "updates", {}), **updates}
        if rows_wanted and report.ok:
            self.writer.submit(_insert_chunk, session.connection(), new_rows, tree_rows)
            counters.add_rows(session, ((row[1], row[14], row[15]) for row in new_rows))

    def close(self) -> None:
        self.writer.close()

    def _choices(self, frame, lines, report) -> dict[str, list]:
        """Salutation, type and language as people write them (German or English)."""
        found = {}
        for name, table in (("salutation", SALUTATIONS), ("type", TYPES), ("language", LANGUAGES)):
            if name not in frame.columns:
                continue
            raw = frame[name].tolist()
            found[name] = [table.get(v.casefold()) if v else None for v in raw]
            for line, value, choice in zip(lines, raw, found[name], strict=True):
                if value and choice is None:
                    report.error(line, self.column_of[name], value,
                                 _("Not one of: %(values)s.", values=", ".join(sorted(set(table)))))
        return found

    def _registered(self, frame) -> list:
        """Registration dates as the start of that day in the company's zone, in UTC."""
        if "registered_at" not in frame.columns:
            return [None] * len(frame)
        memo = {}
        out = []
        for day in frame["registered_at"].tolist():
            if day is None:
                out.append(None)
                continue
            stamp = memo.get(day)
            if stamp is None:
                stamp = memo[day] = datetime.combine(day, time(), self.zone).astimezone(UTC)
            out.append(stamp)
        return out

    def _existing_values(self, session, ids: list[int]) -> dict[int, dict]:
        found = {}
        if ids:
            self.writer.wait()  # the connection is the writer's until its chunk is in
        columns = [getattr(Address, name) for name in (*TEXT_FIELDS, "salutation", "type", "language",
                                                         "consent_contact_by_sponsor", "consent_marketing",
                                                         "sponsor_id")]
        for batch in batched(ids):
            for row in session.execute(select(Address.id, *columns).where(Address.id.in_(batch))):
                found[row.id] = {k: (v.value if hasattr(v, "value") else v)
                                 for k, v in row._mapping.items()}
        return found

    def _compare(self, address_id, values, existing_values, updates, p, report) -> None:
        p = int(p)
        old = existing_values[address_id]
        # Only what the file has a column for: a file without `country` keeps the stored one.
        changed = {k: v for k, v in values.items()
                   if k in old and k in self.column_of and v is not None and old[k] != v}
        sponsor = int(self.parent_db[p]) or (int(self.ids[self.parent_row[p]]) if self.parent_row[p] >= 0
                                             else 0)
        if sponsor and sponsor != old["sponsor_id"]:
            changed["sponsor_id"] = sponsor
        if changed:
            updates[address_id] = (int(self.lines[p]), changed)
            self.update_pos[address_id] = p
        else:
            report.unchanged += 1

    # --- after the last row ---------------------------------------------------------------

    def finish(self, session, report: Report, write: bool) -> None:
        self.writer.wait()
        self._check_moves(session, report)
        write = write and report.ok
        if not write:
            return  # a dropped index comes back with the rollback
        for indexes in self.indexes:
            indexes.rebuild()
        conn = session.connection()
        if self.deferred:
            conn.execute(text("UPDATE address SET sponsor_id = :b_sponsor WHERE id = :b_id"), self.deferred)
        if self.down_delta:
            lock_rows(conn, sorted(self.down_delta))
            conn.execute(
                text("UPDATE address SET downline_count = downline_count + :b_down, "
                     "firstline_count = firstline_count + :b_first WHERE id = :b_id"),
                [{"b_id": a, "b_down": d, "b_first": self.first_delta.get(a, 0)}
                 for a, d in sorted(self.down_delta.items())])
        actor = current_actor()
        for address_id, (line, changed) in sorted(self.updates.items()):
            sponsor = changed.pop("sponsor_id", None)
            if changed:
                address = session.get(Address, address_id)
                for name, value in changed.items():
                    setattr(address, name, _enum_value(name, value))
                session.flush()
            if sponsor:
                try:
                    move(session, address_id, sponsor, _("Import"), actor_label=actor.label,
                         actor_user_id=actor.user_id)
                except SponsorError as exc:
                    report.error(line, self.column_of.get("sponsor_external_key", "sponsor"), "", str(exc))


    def _check_moves(self, session, report: Report) -> None:
        """Sponsor changes of existing addresses that would close a cycle, found in the dry run
        too: the tree as it will be (the database, the file's new rows, all of the file's moves)."""
        moves = {a: changed["sponsor_id"] for a, (_line, changed) in getattr(self, "updates", {}).items()
                 if "sponsor_id" in changed}
        if not moves:
            return
        new_paths = {int(self.ids[i]): self.path[i] for i in np.flatnonzero(self.existing == 0)}
        db_paths: dict[int, str] = {}

        def upline(address_id: int) -> list[int]:
            """Ancestors, nearest first."""
            if address_id in new_paths:
                path = new_paths[address_id] or ROOT_PATH
            else:
                if address_id not in db_paths:
                    db_paths.update({row.id: row.path or ROOT_PATH
                                     for row in _rows_by_id(session, [address_id])})
                path = db_paths.get(address_id, ROOT_PATH)
            return list(reversed(ids_in(path)))

        for address_id, sponsor in sorted(moves.items()):
            if _reaches(address_id, sponsor, moves, upline):
                p = self.update_pos[address_id]
                report.error(int(self.lines[p]), *self._sponsor_cell(p),
                             _("This sponsor sits in the address's own downline: the move would create a "
                               "cycle."))
                self.updates.pop(address_id)
                report.updated -= 1


def _reaches(address_id: int, sponsor: int, moves: dict[int, int], upline) -> bool:
    """Does the chain of sponsors above `sponsor` (moves applied) run into `address_id`?"""
    current, seen = sponsor, set()
    while current and current not in seen:
        if current == address_id:
            return True
        seen.add(current)
        if current in moves:
            current = moves[current]
            continue
        following = 0
        for ancestor in upline(current):
            if ancestor == address_id:
                return True
            if ancestor in moves:
                following = ancestor
                break
        current = following
    return False


def _enum_value(name, value):
    enums = {"type": AddressType, "salutation": Salutation, "language": Language}
    return enums[name](value) if name in enums and value is not None else value


def _rows_by_id(session, ids):
    for batch in batched(sorted(ids)):
        yield from session.execute(select(Address.id, AddressTree.path, AddressTree.depth)
                                   .outerjoin(Address.tree)
                                   .where(Address.id.in_(bindparam("ids", expanding=True))),
                                   {"ids": batch})


def _insert_chunk(conn, rows: list, tree_rows: list) -> None:
    """The addresses, then their places in the tree (which refer to them). A file may name a
    sponsor further down: PostgreSQL's COPY checks the sponsor keys at its end, SQLite at each
    row, so there the chunk goes in by depth (a sponsor in the same chunk sits higher)."""
    if conn.dialect.name == "sqlite":
        order = sorted(range(len(rows)), key=lambda k: tree_rows[k][2])
        rows, tree_rows = [rows[k] for k in order], [tree_rows[k] for k in order]
    insert_rows_on(conn, "address", COLUMNS, rows)
    insert_rows_on(conn, "address_tree", TREE_COLUMNS, tree_rows)
