"""Big downline exports run as background tasks; small ones still download at once."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.models import Address, AddressType, PersonalDataExport, Task, TaskStatus
from tests.support.http import login


@pytest.fixture
def network(make):
    root = make.address(last_name="Vertrieb", company="Partnerdesk GmbH", type=AddressType.partner)
    meier = make.partner("meier", sponsor=root, last_name="Meier")
    level = meier.address
    for i in range(1, 4):
        level = make.address(last_name=f"Stufe{i}", type=AddressType.partner, sponsor_id=level.id)
    make.address(last_name="Neukundin", sponsor_id=meier.address_id)
    return {"root": root.id, "meier": meier.address_id}


@pytest.fixture
def small_inline_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "DOWNLINE_EXPORT_INLINE_MAX", 3)


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_staff_export_above_the_limit_becomes_a_task_with_the_file(
        task_worker, small_inline_limit, make, app, network):
    make.user("staff", "Staff")
    staff = login(app.test_client(), "staff")
    response = staff.get(f"/desk/downline/export/{network['meier']}/csv")
    assert response.status_code == 302 and "/tasks/" in response.headers["Location"]
    task = db.session.scalars(sa.select(Task)).one()
    assert task.kind == "downline.export" and response.headers["Location"].endswith(f"/tasks/{task.id}")
    done = task_worker.wait(task.id)
    assert done.status == TaskStatus.done, done.error
    assert done.file_name == f"downline-{network['meier']}.csv"

    download = staff.get(f"/tasks/{task.id}/file")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    names = [row[2].split()[-1] for row in _rows(download.data)[1:]]
    assert sorted(names) == ["Neukundin", "Stufe1", "Stufe2", "Stufe3"]
    log = db.session.scalars(sa.select(PersonalDataExport)).one()
    assert (log.actor_label, log.user_id, log.row_count, log.file_format) == ("staff", task.user_id, 4, "csv")
    assert login(app.test_client(), "meier").get(f"/tasks/{task.id}/file").status_code == 404


def test_partner_export_task_keeps_the_partner_scope(task_worker, small_inline_limit, app, network):
    meier = login(app.test_client(), "meier")
    response = meier.get(f"/my/downline/export/{network['meier']}/xlsx")
    assert response.status_code == 302
    task = db.session.scalars(sa.select(Task)).one()
    assert task.params_dict["viewer_root_id"] == network["meier"]
    assert task_worker.wait(task.id).status == TaskStatus.done
    download = meier.get(f"/tasks/{task.id}/file")
    assert download.status_code == 200 and download.data[:2] == b"PK"
    assert db.session.scalars(sa.select(PersonalDataExport)).one().actor_label == "meier"
    # Outside the partner's downline: 404 as before, no task.
    assert meier.get(f"/my/downline/export/{network['root']}/csv").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Task)) == 1


def test_small_export_still_downloads_at_once(task_queue, small_inline_limit, make, app, network):
    make.user("staff", "Staff")
    stufe2 = db.session.scalars(sa.select(Address).where(Address.last_name == "Stufe2")).one()
    inline = login(app.test_client(), "staff").get(f"/desk/downline/export/{stufe2.id}/csv")
    assert inline.status_code == 200 and [r[2] for r in _rows(inline.data)[1:]] == ["Erika Stufe3"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Task)) == 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_reports_its_progress_after_each_batch(monkeypatch, network, fmt):
    """The task's bar moves while the file is written, not only at its start and end."""
    from downline import export

    monkeypatch.setattr(export, "BATCH", 2)
    seen = []
    meier = db.session.get(Address, network["meier"])
    export.export(db.session, meier, fmt, progress=seen.append)
    assert seen == [2, 4]  # Stufe1-3 and Neukundin: two batches of two
