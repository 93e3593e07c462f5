"""A5: sponsor, address type and payment profile changes are recorded with who and when."""

from datetime import date

from backoffice.audit import acting_as
from backoffice.extensions import db
from backoffice.models import AddressType
from tests.support.http import csrf_token, login


def test_sponsor_change_is_audited_with_actor_and_reason(ctx, make):
    old, new = make.address(last_name="Alt"), make.address(last_name="Neu")
    address = make.address(sponsor=old)
    with acting_as("import", reason="Korrektur laut Ticket 42"):
        address.sponsor = new
        ctx.commit()
    entries = [e for e in make.audit_for(address.id) if e.field == "sponsor_id"]
    assert [(e.old_value, e.new_value) for e in entries] == [(None, str(old.id)),
                                                             (str(old.id), str(new.id))]
    assert entries[-1].actor_label == "import" and entries[-1].reason == "Korrektur laut Ticket 42"
    assert entries[-1].occurred_at.tzinfo is not None


def test_sponsor_change_by_id_is_audited(ctx, make):
    a, b = make.address(), make.address()
    c = make.address(sponsor=a)
    c.sponsor_id = b.id
    ctx.commit()
    assert [(e.old_value, e.new_value) for e in make.audit_for(c.id)][-1] == (str(a.id), str(b.id))


def test_type_change_is_audited_once(ctx, make):
    address = make.address(type=AddressType.new_customer)
    address.type = AddressType.customer
    ctx.commit()
    address.type = AddressType.customer
    ctx.commit()
    changes = [(e.old_value, e.new_value) for e in make.audit_for(address.id) if e.field == "type"]
    assert changes == [("new_customer", "customer")]


def test_unchanged_fields_write_no_audit(ctx, make):
    address = make.address()
    address.city = "Potsdam"
    ctx.commit()
    assert make.audit_for(address.id) == []


def test_payment_profile_change_is_audited(ctx, make):
    partner = make.partner("meier")
    partner.iban = "DE89370400440532013000"
    partner.mandate_reference = "M-1"
    partner.mandate_date = date(2026, 3, 1)
    ctx.commit()
    fields = {e.field: (e.old_value, e.new_value, e.entity) for e in make.audit_for(partner.address_id)}
    assert fields["iban"] == (None, "DE89370400440532013000", "partner")
    assert fields["mandate_date"] == (None, "2026-03-01", "partner")


def test_desk_edit_records_the_logged_in_user_and_shows_it_on_the_address(client, make):
    make.user("staff", "Staff")
    old, new = make.address(last_name="Altsponsor"), make.address(last_name="Neusponsor")
    address = make.address(last_name="Umzug", sponsor=old)
    login(client, "staff")
    token = csrf_token(client, f"/addressview/edit/{address.id}")
    response = client.post(f"/addressview/edit/{address.id}", data={
        "csrf_token": token, "type": "new_customer", "last_name": "Umzug", "first_name": "Erika",
        "email": address.email, "postal_code": "10115", "city": "Berlin", "country": "DE",
        "language": "de", "registration_source": "desk", "sponsor_id": str(new.id),
        "sponsor_reason": "Wunsch der Kundin"})  # a new sponsor needs a reason
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    entry = [e for e in make.audit_for(address.id) if e.field == "sponsor_id"][-1]
    assert entry.actor_label == "staff" and entry.actor_user_id is not None
    assert (entry.old_value, entry.new_value) == (str(old.id), str(new.id))
    show = client.get(f"/addressview/show/{address.id}").get_data(as_text=True)
    # The trail names the field and the sponsor as people read them, not `sponsor_id` and a number.
    assert "Sponsor" in show and f"Neusponsor ({'Nr.'} {new.id})" in show and "staff" in show
