"""No dead ends: an address leads to its sponsor, downline and audit trail; a new sponsor
needs a reason; the audit trail names people and fields; voucher codes can be found."""

from __future__ import annotations

import pytest

from backoffice.extensions import db
from backoffice.models import Address
from tests.support.http import csrf_token, login
from tests.support.vouchers import permanent_voucher


@pytest.fixture
def staff(client, make):
    make.user("staff", "Staff")
    return login(client, "staff")


def _edit_form(address: Address, **overrides) -> dict:
    data = {"type": address.type.value, "first_name": address.first_name, "last_name": address.last_name,
            "email": address.email, "postal_code": address.postal_code, "city": address.city,
            "country": "DE", "language": "de", "registration_source": "desk",
            "sponsor_id": str(address.sponsor_id or "")}
    data.update(overrides)
    return data


def test_the_address_page_leads_to_edit_sponsor_downline_and_audit(staff, make):
    top = make.address(last_name="Oben")
    address = make.address(last_name="Unten", sponsor=top)
    html = staff.get(f"/addressview/show/{address.id}").get_data(as_text=True)
    for test, href in (("address-edit", f"/addressview/edit/{address.id}"),
                       ("address-sponsor", f"/addressview/show/{top.id}"),
                       ("address-downline", f"/desk/downline/node/{address.id}"),
                       ("address-audit", f"_flt_0_address_id={address.id}")):
        assert f'data-test="{test}"' in html and href in html, test
    for href in (f"/addressview/edit/{address.id}", f"/desk/downline/node/{address.id}",
                 f"/auditentryview/list/?_flt_0_address_id={address.id}"):
        assert staff.get(href).status_code == 200, href


def test_a_new_sponsor_in_the_edit_form_needs_a_reason_that_the_audit_trail_keeps(staff, make):
    old, new = make.address(last_name="Altsponsor"), make.address(last_name="Neusponsorin")
    address = make.address(last_name="Kundin", sponsor=old)
    url = f"/addressview/edit/{address.id}"
    form = _edit_form(address, sponsor_id=str(new.id))
    response = staff.post(url, data={"csrf_token": csrf_token(staff, url), **form})
    assert response.status_code == 200 and "Begründung" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Address, address.id).sponsor_id == old.id

    form["sponsor_reason"] = "Wunsch der Kundin"
    response = staff.post(url, data={"csrf_token": csrf_token(staff, url), **form}, follow_redirects=True)
    assert 'data-test="saved-record"' in response.get_data(as_text=True)
    entry = make.audit_for(address.id)[-1]
    assert entry.field == "sponsor_id" and entry.reason == "Wunsch der Kundin"

    trail = staff.get(f"/auditentryview/list/?_flt_0_address_id={address.id}").get_data(as_text=True)
    assert "Neusponsorin" in trail and "Altsponsor" in trail
    assert ">Sponsor<" in trail.replace("\n", "").replace(" ", "")


def test_voucher_codes_can_be_found_from_the_voucher_and_the_codes_list(staff):
    voucher = permanent_voucher()
    show = staff.get(f"/voucherview/show/{voucher.id}").get_data(as_text=True)
    assert f"/voucherview/codes/{voucher.id}" in show and 'data-test="voucher-codes"' in show
    codes = staff.get("/vouchercodeview/list/").get_data(as_text=True)
    assert 'data-test="list-help"' in codes and 'data-test="to-vouchers"' in codes
    assert staff.get(f"/voucherview/codes/{voucher.id}").status_code == 200


def test_the_navigator_starts_at_a_root_or_a_searched_name(staff, make):
    top = make.address(last_name="Firmenspitze")
    make.address(last_name="Brombeer", first_name="Hanna", sponsor=top)
    make.address(last_name="Brombeerhecke", sponsor=top)
    start = staff.get("/desk/downline/").get_data(as_text=True)
    assert 'data-test="navigator-roots"' in start and f"/desk/downline/node/{top.id}" in start
    found = staff.get("/desk/downline/?address=brombeer").get_data(as_text=True)
    assert "Brombeerhecke" in found and "Hanna Brombeer" in found
    one = staff.get("/desk/downline/?address=Hanna%20Brom")
    assert one.status_code == 302 and "/desk/downline/node/" in one.headers["Location"]
    assert 'data-test="navigator-none"' in staff.get("/desk/downline/?address=Zzz").get_data(as_text=True)


def test_long_firstlines_page_with_previous_and_next(staff, make):
    top = make.address(last_name="Spitze")
    for n in range(120):
        make.address(last_name=f"Glied{n:03d}", sponsor=top)
    html = staff.get(f"/desk/downline/node/{top.id}?page=1").get_data(as_text=True)
    assert 'data-test="page-prev"' in html and 'data-test="page-next"' in html


def test_the_audit_trail_reads_each_value_the_way_its_field_means_it(staff, make):
    from backoffice.models import AddressType

    other = make.address(last_name="Fremdadresse")
    meier = make.partner("meier")
    meier.mandate_reference = str(other.id)  # digits that are no address number here
    meier.address.type = AddressType.customer
    db.session.commit()
    trail = staff.get(f"/auditentryview/list/?_flt_0_address_id={meier.address_id}").get_data(as_text=True)
    flat = trail.replace("\n", "").replace(" ", "")
    assert ">Mandatsreferenz<" in flat and f"<td>{other.id}</td>" in flat
    assert "Fremdadresse" not in trail
    assert "<td>Partner</td><td>Kunde</td>" in flat and ">Typ<" in flat
    start = staff.get("/").get_data(as_text=True)
    assert "Fremdadresse" not in start and ">Kunde<" in start
