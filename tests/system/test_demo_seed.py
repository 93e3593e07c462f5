"""The demo data set: a realistic German tree that `make run` serves."""

from collections import Counter

from sqlalchemy import func, select

from backoffice.demo import DEMO_LOGINS, bulk_insert, generate, seed_articles, seed_logins
from backoffice.models import Address, Article, Partner
from downline.integrity import check
from downline.sponsors import upline_ids
from tests.support.http import login


def test_generated_tree_is_deep_and_top_heavy():
    rows = list(generate(3000))
    depth = max(tree[2] for _, tree, _ in rows)
    firstline = Counter(address[16] for address, _, _ in rows if address[16])
    types = Counter(address[1] for address, _, _ in rows)
    assert depth >= 8
    biggest = firstline.most_common(5)
    assert biggest[0][1] >= 100            # a few big sponsors
    assert sum(1 for n in firstline.values() if n <= 3) > len(firstline) / 2  # many small ones
    assert set(types) == {"new_customer", "customer", "partner"}
    assert all(a[16] is None or a[16] < a[0] for a, _, _ in rows)  # sponsors come first: no cycles


def test_seed_inserts_tree_articles_and_logins(app, ctx, ids_high_again):
    result = bulk_insert(ctx, 500)
    assert result.addresses == 500
    report = check(ctx)
    assert report.ok, report.problems  # path, depth and sizes went in consistent with sponsors
    assert ctx.execute(select(func.count()).select_from(Address)).scalar() == 500
    assert ctx.execute(select(func.count()).select_from(Partner)).scalar() == result.partners
    assert seed_articles(ctx) > 0 and ctx.execute(select(func.count()).select_from(Article)).scalar()
    seed_logins(ctx, app.appbuilder.sm)
    meier = ctx.execute(select(Partner).where(Partner.subdomain == "meier")).scalar_one()
    schulz = ctx.execute(select(Partner).where(Partner.subdomain == "schulz")).scalar_one()
    assert meier.address_id in upline_ids(ctx, schulz.address_id)  # same sponsor tree
    umlaut = ctx.execute(select(func.count()).select_from(Address)
                         .where(Address.last_name.in_(["Müller", "Schäfer", "Köhler", "Weiß"]))).scalar()
    assert umlaut > 0
    for username, password, *_ in DEMO_LOGINS:
        login(app.test_client(), username, password)


def test_seed_adds_a_team_member_and_customer_accounts(app, ctx):
    from backoffice.models import CustomerAccount, TeamMember

    bulk_insert(ctx, 500)
    seed_logins(ctx, app.appbuilder.sm)
    seed_logins(ctx, app.appbuilder.sm)  # idempotent
    meier = ctx.execute(select(Partner).where(Partner.subdomain == "meier")).scalar_one()
    assert [m.partner_id for m in ctx.scalars(select(TeamMember))] == [meier.id]
    accounts = ctx.scalars(select(CustomerAccount)).all()
    assert len(accounts) == 5 and any(a.store_url for a in accounts)
    client = app.test_client()
    login(client, "kollegin", "kollegin")
    assert client.get("/my/downline/", follow_redirects=True).status_code == 200
