"""Voucher reports (V10): redemptions per voucher, code and partner; cost per month; new
customers won per partner code. Released redemptions (cancelled orders) do not count.

Each report is (headers, rows, money column indexes); the Desk shows it and exports it
through `reports.tabular.write_xlsx`.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select

from backoffice.models import Address, Partner, Redemption, Voucher, VoucherCode

REPORTS = {
    "per_voucher": _l("Redemptions per voucher"),
    "per_code": _l("Redemptions per code"),
    "per_partner": _l("Redemptions per partner"),
    "cost_per_month": _l("Cost per month"),
    "new_customers_per_code": _l("New customers per partner code"),
}

_active = Redemption.released_at.is_(None)
_count = func.count(Redemption.id)
_cost = func.coalesce(func.sum(Redemption.amount), 0)
_new = func.sum(case((Redemption.was_new_customer.is_(True), 1), else_=0))


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def build(session, name: str, zone: ZoneInfo):
    if name == "per_voucher":
        rows = session.execute(select(Voucher.name, _count, _cost, _new).join(Redemption.voucher)
                               .where(_active).group_by(Voucher.id, Voucher.name).order_by(Voucher.name))
        return ([_l("Voucher"), _l("Redemptions"), _l("Cost"), _l("New customers")],
                [[n, c, _money(s), w or 0] for n, c, s, w in rows], {2})
    if name == "per_code":
        rows = session.execute(select(VoucherCode.code, Voucher.name, Partner.subdomain, _count, _cost)
                               .join(Redemption.code).join(Redemption.voucher)
                               .outerjoin(Partner, Partner.id == Redemption.owner_partner_id)
                               .where(_active).group_by(VoucherCode.id, VoucherCode.code, Voucher.name,
                                                        Partner.subdomain).order_by(VoucherCode.code))
        return ([_l("Code"), _l("Voucher"), _l("Partner"), _l("Redemptions"), _l("Cost")],
                [[c, v, p or "", n, _money(s)] for c, v, p, n, s in rows], {4})
    if name == "per_partner":
        rows = session.execute(select(Partner.subdomain, Address.last_name, _count, _cost, _new)
                               .join(Partner, Partner.id == Redemption.owner_partner_id)
                               .join(Address, Address.id == Partner.address_id)
                               .where(_active).group_by(Partner.id, Partner.subdomain, Address.last_name)
                               .order_by(Partner.subdomain))
        return ([_l("Partner"), _l("Name"), _l("Redemptions"), _l("Cost"), _l("New customers")],
                [[p, n, c, _money(s), w or 0] for p, n, c, s, w in rows], {3})
    if name == "cost_per_month":
        months: dict[str, list] = defaultdict(lambda: [0, Decimal("0.00")])
        for at, amount in session.execute(select(Redemption.redeemed_at, Redemption.amount).where(_active)):
            month = months[at.astimezone(zone).strftime("%Y-%m")]
            month[0] += 1
            month[1] += amount
        return ([_l("Month"), _l("Redemptions"), _l("Cost")],
                [[m, c, _money(s)] for m, (c, s) in sorted(months.items())], {2})
    if name == "new_customers_per_code":
        rows = session.execute(select(VoucherCode.code, Partner.subdomain, _new)
                               .join(Redemption.code)
                               .join(Partner, Partner.id == Redemption.owner_partner_id)
                               .where(_active).group_by(VoucherCode.id, VoucherCode.code, Partner.subdomain)
                               .order_by(VoucherCode.code))
        return ([_l("Code"), _l("Partner"), _l("New customers")],
                [[c, p, w or 0] for c, p, w in rows], set())
    raise KeyError(name)
