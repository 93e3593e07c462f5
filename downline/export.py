"""Export of a downline, or one level of it, to XLSX/CSV (D7) with the viewer's visibility
rules (A8); every export of personal data is logged (who, when, what)."""

from __future__ import annotations

import enum

from sqlalchemy import select

from backoffice.audit import current_actor
from backoffice.models import Address, PersonalDataExport
from reports.tabular import write_csv, write_xlsx

from . import visibility
from .navigator import _name, downline_of

LABELS = {"id": "Nr.", "level": "Ebene / Level", "name": "Name", "type": "Typ / Type",
          **{k: str(v) for k, v in visibility.FIELDS.items()}}


def _label(cache: dict, member) -> str:
    label = cache.get(member)
    if label is None:
        label = cache[member] = str(member)
    return label


def rows(session, root: Address, level: int | None, viewer_root_id: int | None):
    """(headers, row iterator, fields): staff (viewer_root_id None) see every field."""
    staff = viewer_root_id is None
    first = visibility.fields_for(session, None if staff else "firstline")
    deeper = visibility.fields_for(session, None if staff else "deeper")
    fields = list(dict.fromkeys(first + deeper))
    wanted = ["id", "depth", "sponsor_id", "first_name", "last_name", "company", "type",
              "consent_contact_by_sponsor"] + [f for f in fields if f not in ("name", "type")]
    query = select(*[getattr(Address, c) for c in dict.fromkeys(wanted)]).where(downline_of(root))
    if level is not None:
        query = query.where(Address.depth == root.depth + level)
    query = query.order_by(Address.depth, Address.sponsor_id, Address.id).execution_options(yield_per=2000)

    labels: dict = {}  # enum member -> its translated label, looked up once per export

    def generate():
        for row in session.execute(query):
            address = {k: (_label(labels, v) if isinstance(v, enum.Enum) else v)
                       for k, v in row._mapping.items()}
            address["name"] = _name(row)
            direct = address["sponsor_id"] == viewer_root_id
            scope = None if staff else ("firstline" if direct else "deeper")
            shown = first if (staff or direct) else deeper
            yield [address["id"], address["depth"] - root.depth] + [
                visibility.value(address, f, scope) if f in shown else None for f in fields]

    headers = [LABELS["id"], LABELS["level"]] + [LABELS.get(f, f) for f in fields]
    return headers, generate(), fields


def export(session, root: Address, fmt: str, level: int | None = None,
           viewer_root_id: int | None = None, tz=None) -> bytes:
    headers, generated, fields = rows(session, root, level, viewer_root_id)
    counted = []

    def counting():
        for row in generated:
            counted.append(1)
            yield row

    data = (write_xlsx(headers, counting(), tz=tz, sheet_title="Downline") if fmt == "xlsx"
            else write_csv(headers, counting(), tz=tz))
    actor = current_actor()
    session.add(PersonalDataExport(user_id=actor.user_id, actor_label=actor.label, root_address_id=root.id,
                                   level=level, file_format=fmt, row_count=len(counted),
                                   fields=",".join(fields)))
    session.commit()
    return data
