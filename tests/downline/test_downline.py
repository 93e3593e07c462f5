"""The sponsor tree: derived columns, moves, navigator, visibility, stats, drawing, integrity."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.models import Address, AddressType, AuditEntry, DownlineVisibility, PersonalDataExport
from backoffice.transaction import unit_of_work
from downline import (
    drawing,
    export,
    integrity,
    maintenance,
    moves,
    navigator,
    new_customers,
    stats,
    visibility,
)
from downline.sponsors import SponsorCycleError, SponsorError, SponsorMissingError
from tests.support.concurrency import run_together


def fresh(address_id: int) -> Address:
    db.session.expire_all()
    return db.session.get(Address, address_id)


def chain(make, length: int, top: Address | None = None) -> list[Address]:
    nodes = [top] if top else [make.address(last_name="Chain0")]
    for i in range(1, length):
        nodes.append(make.address(last_name=f"Chain{i}", sponsor_id=nodes[-1].id))
    return nodes


@pytest.fixture
def tree(make):
    """root ─ a (partner) ─ a1 (new customer) ─ a11
                         └ a2 (customer)
            └ b (partner) ─ b1 (new customer)"""
    root = make.address(last_name="Wurzel", type=AddressType.partner)
    a = make.address(last_name="Anton", type=AddressType.partner, sponsor_id=root.id)
    a1 = make.address(last_name="Neu", type=AddressType.new_customer, sponsor_id=a.id,
                      email="neu@example.org", phone="+49 30 1", consent_contact_by_sponsor=True)
    a2 = make.address(last_name="Kunde", type=AddressType.customer, sponsor_id=a.id,
                      email="kunde@example.org", consent_contact_by_sponsor=False)
    a11 = make.address(last_name="Enkel", type=AddressType.customer, sponsor_id=a1.id,
                       email="enkel@example.org", consent_contact_by_sponsor=True)
    b = make.address(last_name="Berta", type=AddressType.partner, sponsor_id=root.id)
    b1 = make.address(last_name="Bneu", type=AddressType.new_customer, sponsor_id=b.id)
    return {k: v.id for k, v in dict(root=root, a=a, a1=a1, a2=a2, a11=a11, b=b, b1=b1).items()}


def test_tree_rows_follow_type_changes_and_deletions(ctx, tree, make):
    """The tree's copy of the type (counts per level read it) follows every change."""
    address = fresh(tree["b1"])
    address.type = AddressType.customer
    ctx.commit()
    level2 = stats.per_level(ctx, fresh(tree["root"])).levels[1]
    assert (level2["new_customer"], level2["customer"]) == (1, 2)
    leaf = make.address(last_name="Weg", sponsor_id=tree["b"])
    ctx.delete(fresh(leaf.id))
    ctx.commit()
    assert ctx.execute(sa.text("SELECT COUNT(*) FROM address_tree WHERE address_id = :id"),
                       {"id": leaf.id}).scalar() == 0
    assert fresh(tree["b"]).downline_count == 1
    assert integrity.check(ctx).ok


def test_new_addresses_get_path_depth_and_sizes(ctx, tree):
    root, a, a1, a11 = (fresh(tree[k]) for k in ("root", "a", "a1", "a11"))
    assert (root.path, root.depth) == ("/", 0)
    assert (a1.path, a1.depth) == (f"/{root.id}/{a.id}/", 2)
    assert a11.path == f"/{root.id}/{a.id}/{a1.id}/"
    assert (root.firstline_count, root.downline_count) == (2, 6)
    assert (a.firstline_count, a.downline_count) == (2, 3)
    assert integrity.check(ctx).ok


def test_sponsor_and_children_created_in_one_flush(ctx):
    top = Address(last_name="Oben")
    mid = Address(last_name="Mitte", sponsor=top)
    Address(last_name="Unten", sponsor=mid)
    ctx.add(top)
    ctx.commit()
    assert fresh(top.id).downline_count == 2
    assert integrity.check(ctx).ok


def test_move_takes_the_whole_downline_and_is_audited(ctx, tree):
    result = moves.move(ctx, tree["a1"], tree["b"], "Wunsch der Kundin", actor_label="staff")
    assert result.moved == 2 and result.old_sponsor_id == tree["a"]
    a11 = fresh(tree["a11"])
    assert a11.path == f"/{tree['root']}/{tree['b']}/{tree['a1']}/" and a11.depth == 3
    assert (fresh(tree["a"]).firstline_count, fresh(tree["a"]).downline_count) == (1, 1)
    assert (fresh(tree["b"]).firstline_count, fresh(tree["b"]).downline_count) == (2, 3)
    assert fresh(tree["root"]).downline_count == 6
    entry = ctx.execute(sa.select(AuditEntry).where(AuditEntry.address_id == tree["a1"],
                                                   AuditEntry.field == "sponsor_id")
                        .order_by(AuditEntry.id.desc())).scalars().first()
    assert (entry.old_value, entry.new_value, entry.reason, entry.actor_label) == (
        str(tree["a"]), str(tree["b"]), "Wunsch der Kundin", "staff")
    assert integrity.check(ctx).ok


def test_cycle_at_depth_one_is_refused(ctx, tree):
    with pytest.raises(SponsorCycleError):
        moves.move(ctx, tree["a"], tree["a1"], "test")
    assert fresh(tree["a"]).sponsor_id == tree["root"]


def test_cycle_at_depth_ten_is_refused(ctx, make):
    nodes = chain(make, 11)
    with pytest.raises(SponsorCycleError):
        moves.move(ctx, nodes[0].id, nodes[10].id, "test")
    assert integrity.check(ctx).ok


def test_moving_the_root_into_its_downline_is_refused(ctx, tree):
    with pytest.raises(SponsorCycleError):
        moves.move(ctx, tree["root"], tree["b1"], "test")


def test_moving_the_root_under_another_tree_is_allowed(ctx, make, tree):
    other = make.address(last_name="Andere")
    moves.move(ctx, tree["root"], other.id, "Fusion")
    assert fresh(tree["a11"]).depth == 4 and fresh(other.id).downline_count == 7
    assert integrity.check(ctx).ok


def test_moving_onto_itself_missing_sponsor_and_no_reason_are_refused(ctx, tree):
    with pytest.raises(SponsorCycleError):
        moves.move(ctx, tree["a"], tree["a"], "test")
    with pytest.raises(SponsorMissingError):
        moves.move(ctx, tree["a"], 999_999, "test")
    with pytest.raises(moves.MoveError):
        moves.move(ctx, tree["a"], tree["b"], "  ")


def test_sponsor_set_directly_keeps_tree_in_step_and_refuses_cycles(ctx, tree):
    """Forms, API, imports and the shop only set sponsor_id: the flush hook does the rest."""
    a2 = ctx.get(Address, tree["a2"])
    a2.sponsor_id = tree["b1"]
    ctx.commit()
    assert fresh(tree["a2"]).depth == 3 and fresh(tree["b"]).downline_count == 2
    a = ctx.get(Address, tree["a"])
    a.sponsor_id = tree["a11"]
    with pytest.raises(SponsorCycleError):
        ctx.commit()
    ctx.rollback()
    assert integrity.check(ctx).ok


def test_two_changes_in_one_flush_closing_a_cycle_are_refused(ctx, tree):
    ctx.get(Address, tree["a"]).sponsor_id = tree["b"]
    ctx.get(Address, tree["b"]).sponsor_id = tree["a"]
    with pytest.raises(SponsorError):
        ctx.commit()
    ctx.rollback()
    assert integrity.check(ctx).ok


def test_leaves_made_each_others_sponsors_in_one_flush_are_refused(ctx, tree, make):
    """A leaf's move skips the cycle walk; a cycle among leaves changed together is still found."""
    c = make.address(last_name="Blatt")
    ctx.get(Address, tree["a11"]).sponsor_id = tree["b1"]
    ctx.get(Address, tree["b1"]).sponsor_id = c.id
    ctx.get(Address, c.id).sponsor_id = tree["a11"]
    with pytest.raises(SponsorError):
        ctx.commit()
    ctx.rollback()
    assert integrity.check(ctx).ok


def race(app, *works) -> list[str]:
    """Run each `work(session)` in its own thread and session, released together: "ok" or
    the name of the error each ended with."""
    return ["ok" if not isinstance(outcome, Exception) else type(outcome).__name__
            for outcome in run_together(app, works)]


def test_concurrent_leaf_assignment_and_move_closing_a_cycle_at_most_one_commits(app, ctx, tree):
    """The shop's checkout sets a leaf's sponsor without the cycle walk (its own row lock keeps
    anything from being moved below it meanwhile); a concurrent move of the leaf's upline
    under the leaf must still not close a cycle."""
    if ctx.get_bind().dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite has one writer at a time)")

    def leaf_under_a11(session):  # b1 is a leaf: b1 -> a11 -> a1 -> a
        session.get(Address, tree["b1"]).sponsor_id = tree["a11"]
        session.commit()

    def a_under_b1(session):
        with unit_of_work(session):
            moves.move(session, tree["a"], tree["b1"], "gleichzeitig", actor_label="test")

    outcomes = race(app, leaf_under_a11, a_under_b1)
    # The loser is refused by the cycle check, or aborted by PostgreSQL's deadlock detector
    # (each holds a row the other wants: the leaf's own row against the upline's locks).
    assert sorted(outcomes) in (["SponsorCycleError", "ok"], ["OperationalError", "ok"]), outcomes
    ctx.rollback()
    assert integrity.check(ctx).ok


def test_concurrent_moves_closing_a_cycle_at_most_one_commits(app, ctx, tree):
    if ctx.get_bind().dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite has one writer at a time)")

    def mover(address_id, sponsor_id):
        def move(session):
            with unit_of_work(session):
                moves.move(session, address_id, sponsor_id, "gleichzeitig", actor_label="test")
        return move

    outcomes = race(app, mover(tree["a"], tree["b1"]), mover(tree["b"], tree["a11"]))
    # The second waits for the first's row locks, then sees its move and is refused.
    assert sorted(outcomes) == ["SponsorCycleError", "ok"], outcomes
    ctx.rollback()
    assert integrity.check(ctx).ok


def test_moves_from_a_file_are_all_or_nothing_with_row_errors(ctx, tree, tmp_path):
    from imports.runner import run

    path = tmp_path / "moves.csv"
    good = f"address_id;new_sponsor_id;reason\n{tree['a2']};{tree['b']};Umzug\n"
    path.write_text(good + f"{tree['a']};{tree['a11']};Zyklus\nx;{tree['b']};Text\n", "utf-8")
    report = run(ctx, "sponsor_moves", path, dry_run=False)
    assert not report.written
    assert [(e.line, e.column) for e in report.errors] == [(3, "new_sponsor_id"), (4, "address_id")]
    assert fresh(tree["a2"]).sponsor_id == tree["a"]
    path.write_text(good, "utf-8")
    assert run(ctx, "sponsor_moves", path, dry_run=False).written
    assert fresh(tree["a2"]).sponsor_id == tree["b"]
    assert integrity.check(ctx).ok


def test_firstline_paging_sorting_and_filters(ctx, make):
    top = make.address(last_name="Chefin", type=AddressType.partner)
    for i in range(7):
        make.address(last_name=f"Mitglied{i}", sponsor_id=top.id,
                     type=AddressType.customer if i % 2 else AddressType.new_customer)
    top = fresh(top.id)
    page = navigator.firstline(ctx, top, page=1, page_size=3, sort="name")
    assert [r.last_name for r in page.rows] == ["Mitglied3", "Mitglied4", "Mitglied5"]
    assert (page.total, page.pages) == (7, 3)
    page = navigator.firstline(ctx, top, sort="name", desc=True, type_="customer")
    assert [r.last_name for r in page.rows] == ["Mitglied5", "Mitglied3", "Mitglied1"]
    assert navigator.firstline(ctx, top, name="glied6").total == 1


def test_breadcrumb_never_above_the_partner(ctx, tree):
    a11 = fresh(tree["a11"])
    whole = [tree[k] for k in ("root", "a", "a1", "a11")]
    assert [i for i, _ in navigator.breadcrumb(ctx, a11, None)] == whole
    assert [i for i, _ in navigator.breadcrumb(ctx, a11, tree["a"])] == [tree["a"], tree["a1"], tree["a11"]]
    assert navigator.node(ctx, tree["a11"], tree["a"]).id == tree["a11"]
    for outside in ("root", "b", "b1"):
        with pytest.raises(navigator.NotInDownline):
            navigator.node(ctx, tree[outside], tree["a"])


def test_search_by_name_inside_a_downline(ctx, tree):
    found = navigator.search(ctx, fresh(tree["a"]), "enk")
    assert [r.id for r in found] == [tree["a11"]]
    assert navigator.search(ctx, fresh(tree["a"]), "Bneu") == []


def test_new_customer_navigator_is_direct_firstline_only(ctx, tree):
    page, fields = new_customers.page(ctx, fresh(tree["a"]))
    assert [r.id for r in page.rows] == [tree["a1"]]
    assert fields == ["name", "type", "registered_at", "postal_code", "city", "language", "email", "phone"]


def test_visibility_defaults_settings_and_consent(ctx, tree):
    assert visibility.fields_for(ctx, "deeper") == ["name", "type", "registered_at", "first_order_at"]
    assert visibility.fields_for(ctx, "firstline") == [
        "name", "type", "registered_at", "first_order_at", "postal_code", "city", "email", "phone"]
    a1, a2 = fresh(tree["a1"]), fresh(tree["a2"])
    assert visibility.value(a1, "email", "firstline") == "neu@example.org"
    assert visibility.value(a2, "email", "firstline") is None  # no consent
    assert visibility.value(a2, "email", None) == "kunde@example.org"  # staff
    shown = visibility.settings(ctx)
    shown["firstline"].discard("email")
    shown["deeper"].add("email")  # not allowed: ignored
    visibility.save(ctx, shown)
    assert "email" not in visibility.fields_for(ctx, "firstline")
    assert "email" not in visibility.fields_for(ctx, "deeper")
    assert ctx.execute(sa.select(sa.func.count()).select_from(DownlineVisibility)).scalar() == 24


def _csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


HEADER = ["Nr.", "Ebene / Level", "Name", "Typ / Type", "Registered", "First order", "Postal code", "City",
          "E-mail", "Phone"]


def test_export_follows_visibility_and_is_logged(ctx, tree):
    lines = _csv(export.export(ctx, fresh(tree["a"]), "csv", viewer_root_id=tree["a"]))
    assert lines[0] == HEADER
    # Every cell but the registration time (the moment the test made the address).
    assert sorted([line[:4] + line[5:] for line in lines[1:]], key=lambda line: int(line[0])) == [
        [str(tree["a1"]), "1", "Erika Neu", "Neukunde", "", "10115", "Berlin", "neu@example.org",
         "'+49 30 1"],                                                          # own firstline, consented
        [str(tree["a2"]), "1", "Erika Kunde", "Kunde", "", "10115", "Berlin", "", ""],  # no consent
        [str(tree["a11"]), "2", "Erika Enkel", "Kunde", "", "", "", "", ""],   # deeper: never contact data
    ]
    log = ctx.execute(sa.select(PersonalDataExport)).scalars().one()
    assert (log.root_address_id, log.row_count, log.file_format) == (tree["a"], 3, "csv")
    level2 = export.export(ctx, fresh(tree["a"]), "xlsx", level=2, viewer_root_id=tree["a"])
    sheet = openpyxl.load_workbook(io.BytesIO(level2)).active
    header, *rows = sheet.iter_rows(values_only=True)
    assert list(header) == HEADER
    assert [row[:4] + row[5:] for row in rows] == [
        (tree["a11"], 2, "Erika Enkel", "Kunde", None, None, None, None, None)]


def test_street_switched_on_for_the_firstline_is_exported_with_consent_only(ctx, tree):
    for key, street in (("a1", "Neuweg 1"), ("a2", "Kundenweg 2"), ("a11", "Enkelweg 3")):
        ctx.get(Address, tree[key]).street = street
    shown = visibility.settings(ctx)
    shown["firstline"].add("street")
    shown["deeper"].add("street")   # not allowed: ignored
    visibility.save(ctx, shown)
    ctx.commit()
    lines = _csv(export.export(ctx, fresh(tree["a"]), "csv", viewer_root_id=tree["a"]))
    assert lines[0] == HEADER + ["Street"]
    assert {int(line[0]): line[-1] for line in lines[1:]} == {
        tree["a1"]: "Neuweg 1", tree["a2"]: "", tree["a11"]: ""}
    staff = _csv(export.export(ctx, fresh(tree["a"]), "csv"))
    assert {int(line[0]): line[-1] for line in staff[1:]} == {
        tree["a1"]: "Neuweg 1", tree["a2"]: "Kundenweg 2", tree["a11"]: "Enkelweg 3"}


def test_stats_per_level_and_type(ctx, tree):
    result = stats.per_level(ctx, fresh(tree["root"]))
    assert result.levels == [
        {"level": 1, "new_customer": 0, "customer": 0, "partner": 2, "total": 2},
        {"level": 2, "new_customer": 2, "customer": 1, "partner": 0, "total": 3},
        {"level": 3, "new_customer": 0, "customer": 1, "partner": 0, "total": 1},
    ]
    assert result.totals == {"new_customer": 2, "customer": 2, "partner": 2, "total": 6}


def test_drawing_is_bounded_and_summarises(ctx, tree):
    graph = drawing.subtree(ctx, fresh(tree["root"]), levels=1)
    assert set(graph.nodes) >= {tree["root"], tree["a"], tree["b"], f"more-{tree['a']}"}
    svg = drawing.svg(graph, link=lambda i: f"/n/{i}")
    assert svg.startswith("<svg") and "Anton" in svg and "+2" in svg and 'href="/n/' in svg


def test_integrity_finds_corrupted_path_counts_cycles_and_rebuild_repairs(app, ctx, tree):
    def sql(statement, address_id):
        ctx.execute(sa.text(statement), {"id": address_id})

    sql("UPDATE address_tree SET path = '/999/' WHERE address_id = :id", tree["a11"])
    sql("UPDATE address SET downline_count = 42 WHERE id = :id", tree["b"])
    sql("UPDATE address_tree SET type = 'partner' WHERE address_id = :id", tree["a2"])
    sql("DELETE FROM address_tree WHERE address_id = :id", tree["b1"])
    ctx.commit()
    report = integrity.check(ctx)
    assert any(p.startswith(f"path: address {tree['a11']} ") for p in report.problems)
    assert any(p.startswith(f"path: address {tree['b1']} has path None") for p in report.problems)
    assert any(p.startswith(f"sizes: address {tree['b']} ") for p in report.problems)
    assert f"type: address {tree['a2']} has type customer but partner in its tree row" in report.problems
    result = app.test_cli_runner().invoke(args=["downline", "check"])
    assert result.exit_code == 1 and "path: address" in result.output
    maintenance.rebuild(ctx)
    assert integrity.check(ctx).ok
    assert app.test_cli_runner().invoke(args=["downline", "check"]).exit_code == 0
    # A cycle written behind the hooks' back (raw SQL) is found and named.
    ctx.execute(sa.text("UPDATE address SET sponsor_id = :s WHERE id = :id"),
                {"s": tree["a1"], "id": tree["a"]})
    ctx.commit()
    assert any(p.startswith("cycle: ") for p in integrity.check(ctx).problems)


def test_export_cells_from_sql_equal_the_python_rules(ctx, make):
    """The CSV export builds names, labels, local times and formula guards in SQL: same text
    as `Address.name` and `reports.tabular.csv_text` give."""
    import csv
    import io
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from reports.tabular import csv_text

    top = make.address(last_name="Oben")
    people = [
        make.address(first_name=None, last_name="Nurnach", sponsor_id=top.id,
                     registered_at=datetime(2026, 7, 1, 22, 30, tzinfo=UTC)),
        make.address(first_name="", last_name="Leer", company="Firma; GmbH", sponsor_id=top.id,
                     registered_at=datetime(2026, 1, 15, 23, 59, 59, tzinfo=UTC)),
        make.address(first_name="=Böse", last_name="Formel", sponsor_id=top.id,
                     registered_at=datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC)),
        make.address(first_name="Anna", last_name="-Minus", company="@Firma", sponsor_id=top.id,
                     registered_at=datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC)),
    ]
    zone = ZoneInfo("Europe/Berlin")
    data = export.export(ctx, fresh(top.id), "csv", tz=zone).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(data), delimiter=";"))
    got = {int(line[0]): line for line in lines[1:]}
    for person in people:
        person = fresh(person.id)
        assert got[person.id][2] == csv_text(person.name)
        assert got[person.id][3] == csv_text(person.type)
        assert got[person.id][4] == csv_text(person.registered_at, zone)


def test_leaf_placed_under_a_subtree_being_moved_gets_the_new_place(app, ctx, tree):
    """A new customer's first order moves it (a leaf) below a partner whose upline another
    transaction is moving at that moment: the leaf waits for that move and takes its place
    from the moved tree, not the old one (else path and sizes go to the old upline)."""
    import threading

    if ctx.get_bind().dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite has one writer at a time)")
    moves.move(ctx, tree["a"], tree["b"], "umgehängt", actor_label="test")  # a's rows locked
    done = threading.Event()

    def leaf_under_a11():  # b1 is a leaf of b; a11 is in the subtree being moved
        with app.app_context():
            session = db.session
            session.get(Address, tree["b1"]).sponsor_id = tree["a11"]
            session.commit()
            db.session.remove()
        done.set()

    worker = threading.Thread(target=leaf_under_a11)
    worker.start()
    assert not done.wait(1.0)  # it waits for the move's row locks
    ctx.commit()
    worker.join(timeout=30)
    assert done.is_set()
    report = integrity.check(ctx)
    assert report.ok, report.problems
    leaf = fresh(tree["b1"])
    assert leaf.path == f"/{tree['root']}/{tree['b']}/{tree['a']}/{tree['a1']}/{tree['a11']}/"
    assert fresh(tree["b"]).downline_count == 5  # a, a1, a2, a11 and b1 below it
