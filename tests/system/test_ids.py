"""Test ids start high and differ per table (tests/support/ids.py), so an id confusion or an
id refused above a few hundred fails a test."""

from backoffice.models import Address, Article, Voucher
from tests.support.vouchers import permanent_voucher


def test_ids_start_above_a_million_and_differ_per_table(ctx, make):
    address, article, voucher = make.address(), make.article(), permanent_voucher()
    ids = {address.id, article.id, voucher.id}
    assert min(ids) > 1_000_000 and len({i // 1_000_000 for i in ids}) == 3
    assert ctx.get(Address, address.id) is address and ctx.get(Address, voucher.id) is None
    assert ctx.get(Article, article.id) is article and ctx.get(Voucher, voucher.id) is voucher
