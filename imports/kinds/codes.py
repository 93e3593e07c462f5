"""Voucher codes from printers (V5): many rows, so checked column-wise and written in bulk.

A code belongs to a voucher (its external key, name or id), optionally to a partner (who
hands it out) and optionally to one customer. Codes are unique case-insensitively across
all vouchers; a code already in the database is updated (owner, customer, active, where the
file has a value: an empty cell or a missing column keeps the stored one), never duplicated,
so importing the same file twice creates nothing.
"""

from __future__ import annotations

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import bindparam, select

from backoffice.bulk import insert_rows
from backoffice.models import Address, Partner, Voucher, VoucherCode
from backoffice.models.types import utcnow
from backoffice.rules import text_length, too_long
from backoffice.services.vouchers import clean_code, code_problem

from ..report import Report
from .base import Field, Kind, lookup, present

COLUMNS = ("voucher_id", "code", "code_normalized", "owner_partner_id", "for_customer_id", "batch",
           "active", "redeemed_count", "created_at")


def voucher_index(session) -> dict[str, int]:
    """External key, name and id of every voucher → id (vouchers are few; codes are many)."""
    index: dict[str, int] = {}
    for vid, name, key in session.execute(select(Voucher.id, Voucher.name, Voucher.external_key)):
        index.setdefault(str(vid), vid)
        index.setdefault(name.strip().casefold(), vid)
        if key:
            index[key.strip().casefold()] = vid
    return index


class VoucherCodes(Kind):
    name = "voucher_codes"
    fields = (
        Field("code", ("Code", "Gutscheincode", "Gutschein-Code", "Voucher code", "Rabattcode"),
              required=True, example="XMAS-7KQ4-M2PD"),
        Field("voucher", ("Gutschein", "Voucher key", "Gutschein-Schlüssel", "voucher_key", "voucher_id"),
              required=True, example="XMAS-2026"),
        Field("owner", ("Partner", "Inhaber", "owner_subdomain", "Partner-Subdomain"), example="meier"),
        Field("customer", ("Kunde", "Kunden-Nr", "Kundennummer", "customer_key", "customer_email"),
              example=""),
        Field("batch", ("Charge", "Stapel", "Batch"), example="Druckerei 2026-11"),
        Field("active", ("aktiv", "Active"), type="boolean", example="ja"),
    )

    def __init__(self):
        self.seen: dict[str, int] = {}   # normalised code → first line

    def prepare(self, session, table, report: Report) -> None:
        self.vouchers = voucher_index(session)
        self.now = utcnow()
        self.default_batch = f"import {table.path.name}"[:64]

    def process(self, session, frame: pd.DataFrame, report: Report, write: bool) -> None:
        col = self.column_of
        lines = frame["_line"].tolist()
        typed = frame["code"].tolist()
        codes = [clean_code(c) for c in typed]
        norm = [c.lower() for c in codes]
        bad = [not c for c in codes]
        for i, code in enumerate(codes):
            if code and (problem := code_problem(code)):
                report.error(lines[i], col["code"], typed[i], problem)
                bad[i] = True

        voucher_ids = [self.vouchers.get(v.casefold()) for v in frame["voucher"].tolist()]
        for i, vid in enumerate(voucher_ids):
            if vid is None:
                bad[i] = True
                if frame["voucher"].iat[i]:
                    report.error(lines[i], col["voucher"], frame["voucher"].iat[i], _("No such voucher."))
        owners = self._resolve(session, frame, "owner", Partner, (Partner.subdomain,), lines, bad, report,
                               _("No partner with this subdomain."))
        customers = self._resolve(session, frame, "customer", Address, (Address.external_key, Address.email),
                                  lines, bad, report, _("No address with this external key or e-mail."))

        seen = self.seen
        for i, key in enumerate(norm):
            first = seen.get(key)
            if first is None:
                seen[key] = lines[i]
            elif key:
                report.error(lines[i], col["code"], typed[i],
                             _("The code appears already in line %(line)s.", line=first))
                bad[i] = True

        existing = lookup(session, (VoucherCode.code_normalized, VoucherCode.id, VoucherCode.voucher_id,
                                    VoucherCode.owner_partner_id, VoucherCode.for_customer_id,
                                    VoucherCode.active, VoucherCode.batch), VoucherCode.code_normalized,
                          [k for k, b in zip(norm, bad, strict=True) if not b])
        # None where the cell is empty or the file has no such column: a new code gets the
        # default, a stored one keeps what it has (a printer's list sent again must not take a
        # code from its partner or customer, nor switch a deactivated code back on).
        active = [a if isinstance(a, bool) else None for a in present(frame, "active").tolist()]
        owner_typed = [bool(v) for v in present(frame, "owner").tolist()]
        customer_typed = [bool(v) for v in present(frame, "customer").tolist()]
        batch_typed = [bool(b) for b in present(frame, "batch").tolist()]
        batch = [b or self.default_batch for b in present(frame, "batch").tolist()]
        limit = text_length(VoucherCode, "batch")
        for i, value in enumerate(batch):
            if len(value) > limit and not bad[i]:
                report.error(lines[i], col.get("batch", ""), value, too_long(limit, value))
                bad[i] = True
        new_rows, updates = [], []
        for i, is_bad in enumerate(bad):
            if is_bad:
                continue
            row = existing.get(norm[i])
            if row is None:
                new_rows.append((voucher_ids[i], codes[i], norm[i], owners[i], customers[i], batch[i],
                                 active[i] is not False, 0, self.now))
                continue
            if row.voucher_id != voucher_ids[i]:
                report.error(lines[i], col["code"], typed[i],
                             _("The code %(code)s is taken (codes are case-insensitive).", code=codes[i]))
                continue
            wanted = (owners[i] if owner_typed[i] else row.owner_partner_id,
                      customers[i] if customer_typed[i] else row.for_customer_id,
                      row.active if active[i] is None else active[i],
                      batch[i] if batch_typed[i] else row.batch)
            if (row.owner_partner_id, row.for_customer_id, row.active, row.batch) != wanted:
                updates.append({"b_id": row.id, "b_owner": wanted[0], "b_customer": wanted[1],
                                "b_active": wanted[2], "b_batch": wanted[3]})
            else:
                report.unchanged += 1
        report.created += len(new_rows)
        report.updated += len(updates)
        if write and report.ok:
            insert_rows(session, "voucher_code", COLUMNS, new_rows)
            if updates:
                table = VoucherCode.__table__
                session.execute(table.update().where(table.c.id == bindparam("b_id"))
                                .values(owner_partner_id=bindparam("b_owner"),
                                        for_customer_id=bindparam("b_customer"),
                                        active=bindparam("b_active"), batch=bindparam("b_batch")), updates)

    def _resolve(self, session, frame, name, model, key_columns, lines, bad, report, message) -> list:
        """Reference text → id (None if empty), trying each key column; unknown ones are errors."""
        if name not in frame.columns:
            return [None] * len(frame)
        column = frame[name].tolist()
        found: dict[str, int] = {}
        for key_column in key_columns:
            wanted = {w for w in column if w and w not in found}
            for key, row in lookup(session, (key_column, model.id), key_column,
                                   wanted | {w.lower() for w in wanted}).items():
                found.setdefault(key, row.id)
        ids = [found.get(v, found.get(v.lower())) if v else None for v in column]
        for i, (value, id_) in enumerate(zip(column, ids, strict=True)):
            if value and id_ is None:
                report.error(lines[i], self.column_of[name], value, message)
                bad[i] = True
        return ids
