"""The start pages' figures, computed by the service without HTTP, and each role's page."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

from backoffice.extensions import db
from backoffice.models import AddressType, AuditEntry
from backoffice.services import start_pages
from backoffice.services.vouchers import create_partner_code
from tests.support.http import login
from tests.support.vouchers import cancel, checkout, new_customer_voucher

TODAY = dt.datetime.now(dt.UTC).date()


def _days_ago(n: int) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(days=n)


def test_staff_figures_count_registrations_first_orders_and_voucher_cost(make):
    make.address(registered_at=_days_ago(0))
    make.address(registered_at=_days_ago(0))
    make.address(registered_at=_days_ago(3), type=AddressType.customer, first_order_at=_days_ago(1))
    make.address(registered_at=_days_ago(45))  # before the 30 days shown
    figures = start_pages.staff_figures(db.session, TODAY)
    per_day = dict(figures.registrations_per_day)
    assert len(per_day) == start_pages.DAYS and per_day[TODAY] == 2
    assert per_day[TODAY - dt.timedelta(days=3)] == 1 and sum(per_day.values()) == 3
    assert dict(figures.first_orders_per_day)[TODAY - dt.timedelta(days=1)] == 1
    assert figures.never_ordered == 3
    assert figures.redemptions_this_month == 0 and figures.voucher_cost_this_month == Decimal("0.00")


def test_partner_and_finance_figures_follow_codes_orders_and_cancellations(make):
    voucher = new_customer_voucher()
    meier = make.partner("meier")
    create_partner_code(db.session, meier, voucher.id, "vonmeier")
    db.session.commit()
    make.article(article_no="SHIRT", gross_price=Decimal("25.00"))
    first = make.address(last_name="Kundin", sponsor=meier.address)
    make.address(last_name="Neu", sponsor=meier.address)
    # The 30 days shown are today and the 29 before: day 29 counts, day 30 does not.
    make.address(last_name="Monatsalt", sponsor=meier.address, registered_at=_days_ago(29),
                 type=AddressType.customer)
    make.address(last_name="Zu alt", sponsor=meier.address, registered_at=_days_ago(30),
                 type=AddressType.customer)
    order_id = checkout(db.session, "o-1", first.id, [{"article_no": "SHIRT", "quantity": 1}],
                        "vonmeier").order_id

    partner = start_pages.partner_figures(db.session, meier.address_id, meier.id, TODAY)
    assert partner.firstline == 4 and partner.downline == 4
    assert partner.firstline_new_last_30_days == 3 and partner.new_customers_to_follow_up == 1
    per_day = dict(partner.firstline_per_day)
    assert per_day[TODAY] == 2 and per_day[TODAY - dt.timedelta(days=29)] == 1 and len(per_day) == 30
    assert partner.codes == [("vonmeier", 1)] and partner.redemptions_this_month == 1

    finance = start_pages.finance_figures(db.session, TODAY)
    assert finance.invoices_this_month == 1 and finance.cancellations_this_month == 0
    assert finance.voucher_cost_per_month[-1] == (TODAY.strftime("%Y-%m"), voucher.amount)
    assert len(finance.voucher_cost_per_month) == start_pages.MONTHS

    cancel(db.session, order_id)
    finance = start_pages.finance_figures(db.session, TODAY)
    assert finance.cancellations_this_month == 1
    assert finance.voucher_cost_per_month[-1][1] == Decimal("0.00")


def test_each_role_lands_on_its_own_start_page(client, make):
    make.user("staff", "Staff")
    make.user("fiona", "Finance")
    meier = make.partner("meier")
    db.session.add(AuditEntry(actor_label="staff", entity="address", entity_id=meier.address_id,
                              address_id=meier.address_id, field="type", old_value="customer",
                              new_value="partner"))
    db.session.commit()
    expected = {"staff": ("start-staff", "chart-registrations"),
                "fiona": ("start-finance", "chart-voucher-cost"),
                "meier": ("start-partner", "chart-firstline")}
    for user, (section, chart) in expected.items():
        login(client, user)
        html = client.get("/").get_data(as_text=True)
        assert f'data-test="{section}"' in html and f'data-test="{chart}"' in html, user
        assert "<svg" in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
        others = {s for s, _ in expected.values()} - {section}
        assert not any(f'data-test="{other}"' in html for other in others), user
        client.get("/logout/")


def _user_chart(client, group_by: int = 0) -> tuple[list[str], list[str], str]:
    """The user statistics as drawn: the chart's column labels, the chart buttons, the page."""
    page = client.get(f"/userstatschartview/chart/{group_by}").get_data(as_text=True)
    data = json.loads(re.search(r"var jsonDataUserStatsChartView = (\{.*\})", page).group(1))
    buttons = re.findall(r'class="btn btn-sm btn-primary">\s*([^<]+?)\s*</a>', page)
    return [column["label"] for column in data["cols"]], buttons, page


def test_the_admins_user_statistics_chart_is_labelled_in_the_ui_language(app, make):
    make.user("chefin", "Admin")
    admin = login(app.test_client(), "chefin")
    columns, buttons, page = _user_chart(admin)
    assert columns == ["Benutzername", "Anmeldungen"]
    assert buttons == ["Anmeldungen je Benutzer", "Fehlgeschlagene Anmeldungen je Benutzer"]
    assert '"first_name": "Vorname"' in page and '"created_on": "Erstellt am"' in page  # the search fields
    assert _user_chart(admin, 1)[0] == ["Benutzername", "Fehlgeschlagene Anmeldungen"]
    admin.get("/lang/en")
    columns, buttons, _page = _user_chart(admin)
    assert columns == ["User name", "Logins"] and buttons == ["Logins per user", "Failed logins per user"]
