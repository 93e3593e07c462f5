"""The firstline navigator on its edges: which node a viewer may open (ids far above a few
hundred, the 64-bit bound), exact pages, sort orders and filters, names and name search."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.models import Address, AddressType
from downline import navigator


def fresh(address_id: int) -> Address:
    db.session.expire_all()
    return db.session.get(Address, address_id)


@pytest.fixture
def family(make):
    """top ─ anna (partner) ─ enkel
           ├ bernd (customer)
           └ carla (new customer, company)
       stranger (another tree)"""
    top = make.address(last_name="Oben", first_name="Olga", type=AddressType.partner)
    anna = make.address(last_name="Anders", first_name="Anna", type=AddressType.partner, sponsor_id=top.id,
                        registered_at=datetime(2026, 3, 1, tzinfo=UTC))
    bernd = make.address(last_name="Berg", first_name="Bernd", type=AddressType.customer, sponsor_id=top.id,
                         registered_at=datetime(2026, 1, 1, tzinfo=UTC))
    carla = make.address(last_name="Conrad", first_name="Carla", company="C_100% GmbH",
                         type=AddressType.new_customer, sponsor_id=top.id,
                         registered_at=datetime(2026, 2, 1, tzinfo=UTC))
    enkel = make.address(last_name="Enkel", first_name="Emil", type=AddressType.customer, sponsor_id=anna.id)
    stranger = make.address(last_name="Fremd", first_name="Fritz")
    return {k: v.id for k, v in dict(top=top, anna=anna, bernd=bernd, carla=carla, enkel=enkel,
                                     stranger=stranger).items()}


def test_ids_are_far_above_a_few_hundred(family):
    assert min(family.values()) > 1_000_000


@pytest.mark.parametrize(("viewer", "node", "opens"), [
    (None, "top", True), (None, "enkel", True), (None, "stranger", True),
    ("top", "top", True), ("top", "anna", True), ("top", "enkel", True), ("top", "stranger", False),
    ("anna", "anna", True), ("anna", "enkel", True), ("anna", "top", False), ("anna", "bernd", False),
    ("enkel", "enkel", True), ("enkel", "anna", False),
])
def test_which_nodes_a_viewer_may_open(ctx, family, viewer, node, opens):
    root_id = family[viewer] if viewer else None
    if opens:
        assert navigator.node(ctx, family[node], root_id).id == family[node]
    else:
        with pytest.raises(navigator.NotInDownline) as refused:
            navigator.node(ctx, family[node], root_id)
        assert refused.value.node_id == family[node] and refused.value.status == 404


@pytest.mark.parametrize("node_id", [0, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 999_999])
def test_impossible_and_missing_ids_are_not_found(ctx, family, node_id):
    with pytest.raises(navigator.NotInDownline):
        navigator.node(ctx, node_id, None)


def test_a_viewer_whose_root_is_gone_opens_nothing(ctx, family):
    with pytest.raises(navigator.NotInDownline):
        navigator.node(ctx, family["anna"], 999_999)


def test_breadcrumb_from_the_viewer_down(ctx, family):
    enkel = fresh(family["enkel"])
    assert navigator.breadcrumb(ctx, enkel, None) == [
        (family["top"], "Olga Oben"), (family["anna"], "Anna Anders"), (family["enkel"], "Emil Enkel")]
    assert navigator.breadcrumb(ctx, enkel, family["anna"]) == [
        (family["anna"], "Anna Anders"), (family["enkel"], "Emil Enkel")]
    assert navigator.breadcrumb(ctx, enkel, family["stranger"]) == [(family["enkel"], "Emil Enkel")]


@pytest.mark.parametrize(("first", "last", "company", "name"), [
    ("Anna", "Anders", None, "Anna Anders"), ("Anna", "", None, "Anna"), (None, "Anders", None, "Anders"),
    ("Anna", "Anders", "ACME", "Anna Anders (ACME)"), (None, "", "ACME", "ACME"),
    ("", "Anders", "ACME", "Anders (ACME)"), (None, "", None, ""), ("Anna", "", "", "Anna"),
])
def test_names_in_python_and_in_sql_agree(ctx, make, first, last, company, name):
    address = make.address(first_name=first, last_name=last, company=company)
    row = ctx.execute(sa.select(Address.id, Address.first_name, Address.last_name, Address.company)
                      .where(Address.id == address.id)).one()
    assert navigator._name(row) == name
    assert ctx.execute(sa.select(navigator.name_sql()).where(Address.id == address.id)).scalar() == name


def names(page):
    return [r.last_name for r in page.rows]


@pytest.mark.parametrize(("options", "expected", "total"), [
    ({}, ["Anders", "Berg", "Conrad"], 3),
    ({"desc": True}, ["Conrad", "Berg", "Anders"], 3),
    ({"sort": "registered_at"}, ["Berg", "Conrad", "Anders"], 3),
    ({"sort": "registered_at", "desc": True}, ["Anders", "Conrad", "Berg"], 3),
    ({"sort": "type"}, ["Berg", "Conrad", "Anders"], 3),   # customer, new_customer, partner
    ({"sort": "firstline", "desc": True}, ["Anders", "Conrad", "Berg"], 3),
    ({"sort": "nonsense"}, ["Anders", "Berg", "Conrad"], 3),
    ({"type_": "customer"}, ["Berg"], 1),
    ({"type_": "partner"}, ["Anders"], 1),
    ({"type_": "nonsense"}, ["Anders", "Berg", "Conrad"], 3),
    ({"new_customers_only": True}, ["Conrad"], 1),
    ({"new_customers_only": True, "type_": "partner"}, ["Conrad"], 1),
    ({"name": "ANDERS"}, ["Anders"], 1),
    ({"name": "nna"}, ["Anders"], 1),          # first name
    ({"name": "100%"}, ["Conrad"], 1),         # company, % taken literally
    ({"name": "C_1"}, ["Conrad"], 1),          # _ taken literally
    ({"name": "%"}, ["Conrad"], 1),
    ({"name": "_"}, ["Conrad"], 1),
    ({"name": "\\"}, [], 0),
    ({"page_size": 2}, ["Anders", "Berg"], 3),
    ({"page_size": 2, "page": 1}, ["Conrad"], 3),
    ({"page_size": 2, "page": -4}, ["Anders", "Berg"], 3),
    ({"page_size": 0}, ["Anders"], 3),
])
def test_firstline_pages_sorts_and_filters(ctx, family, options, expected, total):
    page = navigator.firstline(ctx, fresh(family["top"]), **options)
    assert (names(page), page.total) == (expected, total)


def test_page_numbers_and_sizes(ctx, family):
    top = fresh(family["top"])
    page = navigator.firstline(ctx, top, page=1, page_size=2)
    assert (page.page, page.page_size, page.pages, page.sort, page.desc) == (1, 2, 2, "name", False)
    assert navigator.firstline(ctx, top).page_size == 50
    assert navigator.firstline(ctx, top, page=-3).page == 0
    assert navigator.firstline(ctx, top, page_size=10_000).page_size == 500
    assert navigator.firstline(ctx, top, page_size=-5).page_size == 1
    assert navigator.firstline(ctx, top, page_size=3).pages == 1
    assert navigator.firstline(ctx, top, page_size=1).pages == 3
    assert navigator.firstline(ctx, fresh(family["enkel"])).pages == 1   # empty: still one page
    assert navigator.firstline(ctx, top, sort="id", desc=True).sort == "id"


def test_search_finds_only_inside_the_downline_nearest_level_first(ctx, family, make):
    top = fresh(family["top"])
    deep = make.address(last_name="Anderson", sponsor_id=family["enkel"])
    assert [a.id for a in navigator.search(ctx, top, "  and ")] == [family["anna"], deep.id]
    assert [a.id for a in navigator.search(ctx, fresh(family["anna"]), "and")] == [deep.id]
    assert navigator.search(ctx, top, "fremd") == []
    assert navigator.search(ctx, top, "oben") == []      # the root itself is no member
    assert navigator.search(ctx, top, "   ") == [] and navigator.search(ctx, top, "") == []
    assert len(navigator.search(ctx, top, "e", limit=2)) == 2
    assert navigator.is_inside(top, fresh(deep.id)) and navigator.is_inside(top, top)
    assert not navigator.is_inside(fresh(family["anna"]), top)


@pytest.mark.parametrize(("sort", "desc", "expected"), [
    ("first_order_at", False, ["Berg", "Anders", "Conrad"]),
    ("first_order_at", True, ["Conrad", "Anders", "Berg"]),
    ("downline", False, ["Berg", "Conrad", "Anders"]),      # 0, 0 (by id), 1
    ("downline", True, ["Anders", "Conrad", "Berg"]),
    ("postal_code", False, ["Conrad", "Anders", "Berg"]),
    ("city", False, ["Anders", "Conrad", "Berg"]),
    ("city", True, ["Berg", "Conrad", "Anders"]),
    ("id", False, ["Anders", "Berg", "Conrad"]),
    ("id", True, ["Conrad", "Berg", "Anders"]),
])
def test_every_sort_column_orders_the_firstline(ctx, family, sort, desc, expected):
    """Each sort differs from the name order, so a sort that fell back to names fails."""
    values = {"anna": ("20095", "Aachen", datetime(2026, 4, 1, tzinfo=UTC)),
              "bernd": ("80331", "Zwickau", datetime(2026, 2, 1, tzinfo=UTC)),
              "carla": ("01067", "Köln", datetime(2026, 5, 1, tzinfo=UTC))}
    for who, (postal_code, city, first_order_at) in values.items():
        address = ctx.get(Address, family[who])
        address.postal_code, address.city, address.first_order_at = postal_code, city, first_order_at
    ctx.commit()
    page = navigator.firstline(ctx, fresh(family["top"]), sort=sort, desc=desc)
    assert (names(page), page.sort, page.desc) == (expected, sort, desc)


class NoDatabase:
    """A session that records which ids were looked up and finds none."""

    def __init__(self):
        self.asked = []

    def get(self, model, ident):
        self.asked.append(ident)


@pytest.mark.parametrize(("node_id", "looked_up"), [
    (0, False), (-1, False), (1, True), (2**31 - 1, True), (2**31, False), (2**32, False), (2**63, False),
])
def test_only_ids_of_the_32_bit_column_reach_the_database(node_id, looked_up):
    """An id out of the column's range is refused before the query (PostgreSQL would fail on
    it with an error instead of finding nothing)."""
    session = NoDatabase()
    with pytest.raises(navigator.NotInDownline):
        navigator.node(session, node_id, None)
    assert session.asked == ([node_id] if looked_up else [])


def test_a_backslash_in_a_name_is_found_literally(ctx, make):
    top = make.address(last_name="Oben")
    slash = make.address(last_name="Schräg\\strich", sponsor_id=top.id)
    make.address(last_name="Gerade", sponsor_id=top.id)
    page = navigator.firstline(ctx, fresh(top.id), name="\\")
    assert ([r.id for r in page.rows], page.total) == ([slash.id], 1)
    assert [a.id for a in navigator.search(ctx, fresh(top.id), "g\\s")] == [slash.id]


def test_search_orders_a_level_by_last_name_then_id(ctx, family, make):
    """Nearest level first, inside a level by last name (none counts as empty), not by id."""
    firm = make.address(first_name="", last_name="", company="Andersen Bau", sponsor_id=family["top"])
    zander = make.address(last_name="Zander", sponsor_id=family["top"])
    deep = make.address(last_name="Aandersson", sponsor_id=family["enkel"])
    found = navigator.search(ctx, fresh(family["top"]), "and")
    assert [a.id for a in found] == [firm.id, family["anna"], zander.id, deep.id]


def test_search_returns_at_most_fifty_by_default(ctx, make):
    top = make.address(last_name="Oben")
    for i in range(51):
        make.address(last_name=f"Viele{i:02d}", sponsor_id=top.id)
    top = fresh(top.id)
    assert len(navigator.search(ctx, top, "viele")) == 50
    assert len(navigator.search(ctx, top, "viele", limit=51)) == 51
