"""Every text field of every kind that has a length in the database: a value one character too
long is refused in the dry run and the commit alike, with the file's column named, and nothing is
written (SQLite would store it, PostgreSQL would fail the commit the dry run had passed)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backoffice.models import Address, Article, Partner, Voucher, VoucherCode
from backoffice.rules import _text_lengths
from imports.kinds import KINDS
from imports.runner import run

pytestmark = pytest.mark.usefixtures("english")
MODELS = {"addresses": Address, "articles": Article, "partners": Partner, "vouchers": Voucher,
          "voucher_codes": VoucherCode}
CASES = [(kind, f.name, _text_lengths(MODELS[kind].__table__)[f.name])
         for kind in sorted(MODELS) for f in KINDS[kind].fields
         if f.type == "text" and f.name in _text_lengths(MODELS[kind].__table__)]


def test_the_cases_cover_the_kinds_text_columns():
    assert {kind for kind, _name, _limit in CASES} == set(MODELS)
    assert ("addresses", "street", 200) in CASES and ("partners", "iban", 34) in CASES


@pytest.mark.parametrize(("kind", "name", "limit"), CASES, ids=[f"{k}.{n}" for k, n, _l in CASES])
def test_a_value_one_character_too_long_is_refused_by_dry_run_and_commit(ctx, make, kind, name, limit,
                                                                          tmp_path):
    # What the template's example row refers to, so that only the long value is wrong.
    if kind == "partners":
        make.address(last_name="Meier", external_key="ALT-100007")
    if kind == "voucher_codes":
        make.partner("meier", subdomain="meier")
        ctx.add(Voucher(name="Weihnachten", amount=5, external_key="XMAS-2026"))
        ctx.commit()
    header, example = KINDS[kind]().template()
    value = "x" * (limit + 1)
    if name == "email" or name.endswith("_email"):
        value = "x" * (limit + 1 - len("@example.org")) + "@example.org"
    row = [value if h == name else e for h, e in zip(header, example, strict=True)]
    path = tmp_path / f"{kind}.csv"
    path.write_text(";".join(header) + "\n" + ";".join(row) + "\n", "utf-8")
    before = {m.__tablename__: ctx.execute(sa.select(sa.func.count()).select_from(m)).scalar()
              for m in MODELS.values()}
    for dry_run in (True, False):
        report = run(ctx, kind, path, dry_run=dry_run)
        # (another rule may say more about the same cell, e.g. "Unknown time zone.")
        mine = {(e.line, e.column, e.value) for e in report.errors if e.column == name}
        assert mine == {(2, name, value)}, [(e.column, e.message) for e in report.errors]
        assert report.rejected == 1
        assert (report.written, report.created, report.updated) == (False, 0, 0)
    after = {m.__tablename__: ctx.execute(sa.select(sa.func.count()).select_from(m)).scalar()
             for m in MODELS.values()}
    assert after == before
