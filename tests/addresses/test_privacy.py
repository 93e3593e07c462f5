"""Personal data (GDPR): export everything about an address, erase it, refuse hard deletes.
The service first, then the Desk page and the API on top."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa
from flask_appbuilder import Model

from backoffice import transaction
from backoffice.errors import Conflict, RuleViolations
from backoffice.extensions import db
from backoffice.models import (
    Address,
    AuditEntry,
    Conversation,
    CustomerAccount,
    ExpertJob,
    Invoice,
    JobKind,
    Order,
    Party,
)
from backoffice.services import customer_portal, privacy
from tests.support.directory import category
from tests.support.http import api_token, csrf_token, login
from tests.support.vouchers import ordered, permanent_voucher

PERSONAL = ["Erika", "Musterfrau", "erika@example.org", "+49 30 1234", "Hauptstraße 5", "Leipzig"]


@pytest.fixture
def erika(ctx, make):
    make.article(article_no="TEA", gross_price=Decimal("4.28"), vat_rate=Decimal("7"))
    sponsor = make.partner("meier")
    erika = make.address(first_name="Erika", last_name="Musterfrau", email="erika@example.org",
                         phone="+49 30 1234", street="Hauptstraße 5", postal_code="04109", city="Leipzig",
                         sponsor=sponsor.address, consent_marketing=True)
    below = make.address(last_name="Unterkunde", sponsor=erika)
    order = ordered(ctx, "o-1", erika.id, [{"article_no": "TEA", "quantity": 2}])
    return {"erika": erika, "below": below, "order": order, "sponsor": sponsor}


def test_export_holds_every_section(ctx, erika):
    data = privacy.personal_data(ctx, erika["erika"].id)
    assert data["master_data"]["email"] == "erika@example.org"
    assert data["consents"] == {"consent_contact_by_sponsor": False, "consent_marketing": True}
    assert [o["external_order_id"] for o in data["orders"]] == ["o-1"]
    assert data["orders"][0]["lines"][0]["article_no"] == "TEA"
    assert len(data["invoices"]) == 1 and data["invoices"][0]["total_gross"] == "8.56"
    assert data["downline_position"]["sponsor_id"] == erika["sponsor"].address_id
    assert data["downline_position"]["firstline_count"] == 1
    json.loads(privacy.as_json(data))
    book = openpyxl.load_workbook(io.BytesIO(privacy.as_xlsx(data)))
    assert {"master_data", "consents", "orders", "invoices", "redemptions", "audit_entries",
            "downline_position"} <= set(book.sheetnames)
    cells = [str(c) for row in book["master_data"].iter_rows(values_only=True) for c in row]
    assert "erika@example.org" in cells


def test_erase_anonymises_and_keeps_invoices_and_the_tree(ctx, erika):
    pk = erika["erika"].id
    with pytest.raises(RuleViolations):
        privacy.erase(ctx, pk, reason=" ", actor_user_id=None, actor_label="staff")
    with transaction.unit_of_work(ctx):
        result = privacy.erase(ctx, pk, reason="Art. 17 request of 1 Dec", actor_user_id=None,
                               actor_label="staff")
    assert result.invoices_kept == 1
    ctx.expire_all()
    data = json.dumps(privacy.personal_data(ctx, pk)["master_data"], ensure_ascii=False)
    assert not [p for p in PERSONAL if p in data]
    address = ctx.get(Address, pk)
    assert address.sponsor_id == erika["sponsor"].address_id
    assert ctx.get(Address, erika["below"].id).sponsor_id == pk  # downline stays
    assert not address.consent_marketing
    invoice = ctx.execute(sa.select(Invoice)).scalar_one()
    assert invoice.total_gross == Decimal("8.56") and invoice.buyer_name  # legally required data kept
    assert ctx.get(Order, erika["order"].id) is not None
    entry = ctx.execute(sa.select(AuditEntry).where(AuditEntry.field == "erasure")).scalar_one()
    assert entry.actor_label == "staff" and entry.reason == "Art. 17 request of 1 Dec"


def test_erasing_a_partner_ends_its_logins(app, ctx, make):
    meier = make.partner("meier", iban="DE89370400440532013000")
    client = app.test_client()
    headers = api_token(client, "meier")
    with transaction.unit_of_work(ctx):
        result = privacy.erase(ctx, meier.address_id, reason="request", actor_user_id=None,
                               actor_label="staff")
    assert result.logins_ended == 1
    assert client.get("/api/v1/my_profile/", headers=headers).status_code == 401
    ctx.expire_all()
    assert "DE8937" not in json.dumps(privacy.personal_data(ctx, meier.address_id))


def test_hard_delete_refused_with_a_reason(ctx, make, erika):
    for pk, code in [(erika["erika"].id, "address_in_use"),
                     (erika["sponsor"].address_id, "address_is_partner")]:
        with pytest.raises(Conflict) as refused:
            privacy.refuse_hard_delete(ctx, pk)
        assert refused.value.code == code and refused.value.message
    free = make.address(last_name="Ohne")
    privacy.refuse_hard_delete(ctx, free.id)  # nothing holds it
    permanent_voucher(for_customer_id=free.id)
    with pytest.raises(Conflict):
        privacy.refuse_hard_delete(ctx, free.id)


def test_delete_refusals_in_api_and_desk(app, client, make, erika):
    make.user("staff", "Staff")
    headers = api_token(client, "staff")
    walked = [erika["erika"].id, erika["sponsor"].address_id]
    for pk in walked:
        answer = client.delete(f"/api/v1/address/{pk}", headers=headers)
        assert answer.status_code == 409, answer.json
        assert answer.json["error"] in ("address_in_use", "address_is_partner")
        assert "SQL" not in answer.json["message"] and "INSERT" not in answer.json["message"]
    login(client, "staff")
    token = csrf_token(client, "/addressview/list/")
    for pk in walked:
        page = client.post(f"/addressview/delete/{pk}", data={"csrf_token": token},
                           follow_redirects=True).get_data(as_text=True)
        assert "gelöscht werden" in page or "cannot be deleted" in page
    db.session.expire_all()
    assert all(db.session.get(Address, pk) is not None for pk in walked)


def test_desk_page_exports_and_erases(app, client, make, erika):
    make.user("staff", "Staff")
    make.user("finance", "Finance")
    pk = erika["erika"].id
    finance = login(app.test_client(), "finance")
    assert finance.get(f"/desk/privacy/{pk}").status_code == 403
    login(client, "staff")
    page = client.get(f"/desk/privacy/?address={pk}", follow_redirects=True).get_data(as_text=True)
    assert "Musterfrau" in page
    xlsx = client.get(f"/desk/privacy/{pk}/export/xlsx")
    assert xlsx.status_code == 200 and "spreadsheetml" in xlsx.headers["Content-Type"]
    assert client.get(f"/desk/privacy/{pk}/export/json").json["master_data"]["city"] == "Leipzig"
    token = csrf_token(client, f"/desk/privacy/{pk}")
    client.post(f"/desk/privacy/{pk}/erase", data={"csrf_token": token, "reason": "Anfrage per Brief"})
    db.session.expire_all()
    assert db.session.get(Address, pk).email is None


def test_api_exports_and_erases(client, make, erika):
    make.user("staff", "Staff")
    make.user("finance", "Finance")
    pk = erika["erika"].id
    finance = api_token(client, "finance")
    assert client.get(f"/api/v1/address/{pk}/personal_data", headers=finance).status_code == 403
    staff = api_token(client, "staff")
    url = f"/api/v1/address/{pk}/personal_data"
    assert client.get(url, headers=staff).json["master_data"]["city"] == "Leipzig"
    assert client.post(f"/api/v1/address/{pk}/erase", headers=staff, json={}).status_code == 422
    answer = client.post(f"/api/v1/address/{pk}/erase", headers=staff, json={"reason": "request"})
    assert answer.status_code == 200 and answer.json["invoices_kept"] == 1
    assert answer.json["mails_erased"] == answer.json["files_deleted"] == 0
    assert client.get(url, headers=staff).json["master_data"]["city"] is None


def test_the_customer_accounts_store_is_exported_and_erased(ctx, erika):
    pk = erika["erika"].id
    with transaction.unit_of_work(ctx):
        customer_portal.update_store(ctx, pk, "Erikas Teeladen", "erika-tee.example")
    account = privacy.personal_data(ctx, pk)["customer_account"]
    assert (account["store_name"], account["store_url"]) == ("Erikas Teeladen", "https://erika-tee.example")
    with transaction.unit_of_work(ctx):
        privacy.erase(ctx, pk, reason="request", actor_user_id=None, actor_label="staff")
    ctx.expire_all()
    assert "erika-tee" not in json.dumps(privacy.personal_data(ctx, pk))
    assert ctx.scalar(sa.select(CustomerAccount.store_name).where(CustomerAccount.address_id == pk)) is None


def _customer_with(what: str, make):
    """A customer held by nothing but one conversation with a partner, or one expert job."""
    customer = make.address(last_name="Nurkunde", email=f"{what}@example.org")
    with transaction.unit_of_work() as session:
        if what == "conversation":
            partner = make.partner("gespraech")
            session.add(Conversation(partner_id=partner.id, customer_id=customer.id, requirements="Logo",
                                     contact_name="Nurkunde", last_message_by=Party.customer))
        else:
            design = category("Design", "Design")
            session.add(ExpertJob(kind=JobKind.match, customer_id=customer.id, category_id=design.id,
                                  requirements="Logo", merchant_name="Nurkunde"))
    return customer.id


@pytest.mark.parametrize(("what", "german", "english"), [
    ("conversation", "Unterhaltungen", "conversations"),
    ("expert_job", "Expertenaufträge", "expert jobs"),
])
def test_delete_refusal_names_conversations_and_expert_jobs(app, client, make, what, german, english):
    """Both keep the address by a foreign key: staff get the reason, not a database error."""
    pk = _customer_with(what, make)
    make.user("staff", "Staff")
    headers = api_token(client, "staff")
    answers = {language: client.delete(f"/api/v1/address/{pk}",
                                       headers={**headers, "Accept-Language": language})
               for language in ("de", "en")}
    for language, name in (("de", german), ("en", english)):
        answer = answers[language]
        assert (answer.status_code, answer.json.get("error")) == (409, "address_in_use"), answer.json
        assert name in answer.json["message"]
    login(client, "staff")
    token = csrf_token(client, "/addressview/list/")
    page = client.post(f"/addressview/delete/{pk}", data={"csrf_token": token}, follow_redirects=True)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "kann nicht gelöscht werden" in text and german in text
    db.session.expire_all()
    assert db.session.get(Address, pk) is not None


def test_every_foreign_key_that_keeps_an_address_is_named(app):
    """A new table pointing at addresses without a cascade must be named in the refusal,
    or deleting such an address fails with a database error that names no reason."""
    keeping = {f"{fk.parent.table.name}.{fk.parent.name}"
               for table in Model.metadata.sorted_tables for fk in table.foreign_keys
               if fk.column.table.name == "address" and (fk.ondelete or "RESTRICT").upper() in
               ("RESTRICT", "NO ACTION")}
    named = {f"{column.table.name}.{column.name}"
             for columns, _what in privacy.HARD_DELETE_HOLDERS for column in columns}
    assert keeping - named == {"partner.address_id"}  # refused apart: end the partnership first
