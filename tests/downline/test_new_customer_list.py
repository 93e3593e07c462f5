"""The new-customer navigator sorts by its columns and exports the whole list in that order,
with the fields of its scope and contact data only where the address consented."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.models import AddressType, PersonalDataExport, Task, TaskStatus
from tests.support.http import login


@pytest.fixture
def newcomers(make):
    root = make.address(last_name="Vertrieb", company="Partnerdesk GmbH", type=AddressType.partner)
    meier = make.partner("meier", sponsor=root, last_name="Meier")
    made = {}
    for name, city, day, consent in (("Berger", "Köln", 3, True), ("Adler", "Berlin", 1, False),
                                     ("Christ", "Aachen", 2, True)):
        made[name] = make.address(first_name="", last_name=name, city=city,
                                  email=f"{name.lower()}@kunde.example",
                                  registered_at=datetime(2026, 5, day, 9, tzinfo=UTC),
                                  sponsor_id=meier.address_id, consent_contact_by_sponsor=consent)
    make.address(first_name="", last_name="Kaufkundin", type=AddressType.customer,
                 sponsor_id=meier.address_id)
    deeper = make.address(first_name="", last_name="Unterpartner", type=AddressType.partner,
                          sponsor_id=meier.address_id)
    make.address(first_name="", last_name="Tiefneu", email="tief@kunde.example", sponsor_id=deeper.id,
                 consent_contact_by_sponsor=True)
    return made


def _names(page: str) -> list[str]:
    return re.findall(r"<td>(Adler|Berger|Christ|Kaufkundin|Unterpartner|Tiefneu)</td>", page)


def _csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_the_list_sorts_by_name_and_city_both_ways(client, newcomers):
    login(client, "meier")
    assert _names(client.get("/my/downline/new-customers/").get_data(as_text=True)) == [
        "Berger", "Christ", "Adler"]  # newest registration first
    assert _names(client.get("/my/downline/new-customers/?sort=name&desc=0").get_data(as_text=True)) == [
        "Adler", "Berger", "Christ"]
    assert _names(client.get("/my/downline/new-customers/?sort=name&desc=1").get_data(as_text=True)) == [
        "Christ", "Berger", "Adler"]
    page = client.get("/my/downline/new-customers/?sort=city&desc=0").get_data(as_text=True)
    assert _names(page) == ["Christ", "Adler", "Berger"]
    # The headers link the other direction of the current sort, and the export keeps the order.
    assert 'href="/my/downline/new-customers/?sort=city&amp;desc=1&amp;name="' in page
    assert 'href="/my/downline/new-customers/export/csv?sort=city&amp;desc=0"' in page


def test_the_export_has_the_pages_order_fields_and_consent_rule(client, newcomers):
    login(client, "meier")
    response = client.get("/my/downline/new-customers/export/csv?sort=name&desc=0")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith(
        f"filename=neukunden-{newcomers['Adler'].sponsor_id}.csv")
    rows = _csv(response.data)
    header = rows[0]
    assert header[:4] == ["Nr.", "Ebene / Level", "Name", "Typ / Type"]
    email = header.index("E-mail")
    assert [(r[2], r[email]) for r in rows[1:]] == [
        ("Adler", ""), ("Berger", "berger@kunde.example"), ("Christ", "christ@kunde.example")]
    assert "Erstbestellung" not in header and "First order" not in header  # not in this scope
    log = db.session.scalars(sa.select(PersonalDataExport)).one()
    assert (log.actor_label, log.level, log.file_format, log.row_count) == ("meier", 1, "csv", 3)

    client.get("/lang/en")
    xlsx = client.get("/my/downline/new-customers/export/xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert xlsx.headers["Content-Disposition"].endswith(f"new-customers-{newcomers['Adler'].sponsor_id}.xlsx")


def test_a_big_list_exports_in_the_background_with_the_same_rows(task_worker, app, monkeypatch, newcomers):
    monkeypatch.setitem(app.config, "DOWNLINE_EXPORT_INLINE_MAX", 2)
    meier = login(app.test_client(), "meier")
    response = meier.get("/my/downline/new-customers/export/csv?sort=registered_at&desc=0")
    assert response.status_code == 302 and "/tasks/" in response.headers["Location"]
    task = db.session.scalars(sa.select(Task)).one()
    done = task_worker.wait(task.id)
    assert done.status == TaskStatus.done, done.error
    assert (done.progress_done, done.progress_total) == (3, 3)
    rows = _csv(meier.get(f"/tasks/{task.id}/file").data)
    assert [r[2] for r in rows[1:]] == ["Adler", "Christ", "Berger"]
