"""Partner organisations: the owner invites colleagues by e-mail, removes them and hands over
ownership; members work in the partner area except payment profile and team."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User

from backoffice.extensions import db
from backoffice.models import AuditEntry, Partner, TeamInvitation, TeamMember
from backoffice.models.types import utcnow
from backoffice.tasks.mail import deliver
from tests.support.http import api_token, csrf_token, login
from tests.support.smtp import parts

LINK_RE = re.compile(r"https?://\S+/team/join/[\w-]+")
PASSWORD = "kollegin-geheim-1"


@pytest.fixture
def meier(make):
    partner = make.partner("meier", last_name="Meier", iban="DE89370400440532013000",
                           mandate_reference="M-MEIER-1", mandate_date=date(2026, 1, 15))
    make.address(last_name="Alphakunde", sponsor=partner.address, email="alpha@example.org",
                 consent_contact_by_sponsor=True)
    return partner


def _invite(client, email="kim@example.org", language="de"):
    token = csrf_token(client, "/my/team/")
    return client.post("/my/team/invite", data={"email": email, "language": language, "csrf_token": token})


def _join(client, link, password=PASSWORD, last_name="Kollegin"):
    path = link[link.index("/team/join/"):]
    token = csrf_token(client, path)
    return client.post(path, data={"first_name": "Kim", "last_name": last_name, "password": password,
                                   "password_repeat": password, "csrf_token": token})


def _mailed_link(smtp_server, count=1) -> str:
    deliver(db.session)
    message = smtp_server.wait_for(count)[-1]
    return LINK_RE.search(parts(message)["text/plain"]).group(0)


def test_owner_invites_a_colleague_who_joins_through_the_mailed_link(app, client, meier, smtp_server):
    login(client, "meier")
    assert _invite(client, language="en").status_code == 302
    link = _mailed_link(smtp_server)
    message = smtp_server.messages[0]
    assert message["To"] == "kim@example.org" and message["Subject"].startswith("Invitation to the team")
    colleague = app.test_client()
    page = colleague.get(link[link.index("/team/join/"):]).get_data(as_text=True)
    assert "kim@example.org" in page
    assert _join(colleague, link).status_code == 302
    login(colleague, "kim@example.org", PASSWORD)
    assert "Alphakunde" in colleague.get("/my/downline/", follow_redirects=True).get_data(as_text=True)
    assert "meier" in colleague.get("/my/profile/list/").get_data(as_text=True)
    db.session.expire_all()
    kim = db.session.scalar(sa.select(User).where(User.username == "kim@example.org"))
    assert db.session.scalar(sa.select(TeamMember.partner_id).where(TeamMember.user_id == kim.id)) == meier.id
    fields = [e.field for e in db.session.scalars(sa.select(AuditEntry).where(AuditEntry.entity == "team"))]
    assert fields == ["invitation", "member"]


def test_an_invitation_link_works_once_and_not_after_it_expired(app, client, meier, smtp_server):
    login(client, "meier")
    _invite(client, "kim@example.org")
    _invite(client, "lee@example.org")
    deliver(db.session)
    links = {m["To"]: LINK_RE.search(parts(m)["text/plain"]).group(0) for m in smtp_server.wait_for(2)}
    first = app.test_client()
    assert _join(first, links["kim@example.org"]).status_code == 302
    again = app.test_client().get(links["kim@example.org"][links["kim@example.org"].index("/team/join/"):])
    assert again.status_code == 410
    db.session.execute(sa.update(TeamInvitation).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    late = app.test_client().get(links["lee@example.org"][links["lee@example.org"].index("/team/join/"):])
    assert late.status_code == 410 and "abgelaufen" in late.get_data(as_text=True)
    assert app.test_client().get("/team/join/not-a-real-token").status_code == 404


def test_a_short_password_is_refused_at_its_field(app, client, meier, smtp_server):
    login(client, "meier")
    _invite(client)
    link = _mailed_link(smtp_server)
    response = _join(app.test_client(), link, password="kurz")
    assert response.status_code == 200 and "10" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TeamMember)) == 0


def test_members_see_neither_payment_profile_nor_team(client, make, meier):
    make.team_member(meier, "kollegin")
    login(client, "kollegin")
    for url in ["/my/profile/list/", f"/my/profile/show/{meier.id}", "/my/payment/list/",
                f"/my/payment/show/{meier.id}"]:
        assert "DE89370400440532013000" not in client.get(url).get_data(as_text=True), url
    assert client.get("/my/team/").status_code == 403
    # Invoices are the owner's too: their page, PDFs and exports.
    for url in ["/my/billing/", "/my/billing/1.pdf", "/my/billing/export/invoices.xlsx"]:
        assert client.get(url).status_code == 403, url
    token = csrf_token(client, "/my/profile/list/")
    invite = client.post("/my/team/invite", data={"email": "x@example.org", "csrf_token": token})
    assert invite.status_code == 403
    headers = api_token(client, "kollegin")
    assert client.get("/api/v1/my_payment_profile/", headers=headers).json["result"] == []
    assert "iban" not in client.get("/api/v1/my_profile/", headers=headers).json["result"][0]
    owner = api_token(client, "meier")
    assert client.get("/api/v1/my_payment_profile/", headers=owner).json["result"][0]["iban"] == \
        "DE89370400440532013000"


def test_a_removed_member_loses_access_at_once_sessions_and_tokens_included(app, client, make, meier):
    kollegin = make.team_member(meier, "kollegin")
    member = app.test_client()
    login(member, "kollegin")
    headers = api_token(member, "kollegin")
    assert "Alphakunde" in member.get("/my/downline/", follow_redirects=True).get_data(as_text=True)
    assert client.get("/api/v1/my_addresses/", headers=headers).json["result"]
    login(client, "meier")
    token = csrf_token(client, "/my/team/")
    assert client.post(f"/my/team/remove/{kollegin.id}", data={"csrf_token": token}).status_code == 302
    page = member.get("/my/downline/")
    assert page.status_code in (302, 401, 403) and "Alphakunde" not in page.get_data(as_text=True)
    api = app.test_client().get("/api/v1/my_addresses/", headers=headers)
    assert api.status_code == 401 or api.json.get("result") == []
    removed = [e for e in db.session.scalars(sa.select(AuditEntry).where(AuditEntry.entity == "team"))]
    assert [(e.field, e.old_value, e.actor_label) for e in removed] == [("member", "kollegin", "meier")]


def test_the_owner_hands_over_and_stays_as_a_member(app, client, make, meier):
    kollegin = make.team_member(meier, "kollegin")
    login(client, "meier")
    token = csrf_token(client, "/my/team/")
    assert client.post(f"/my/team/handover/{kollegin.id}", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Partner, meier.id).user_id == kollegin.id
    assert client.get("/my/team/").status_code == 403  # meier is a member now
    assert "Alphakunde" in client.get("/my/downline/", follow_redirects=True).get_data(as_text=True)
    new_owner = app.test_client()
    login(new_owner, "kollegin")
    page = new_owner.get("/my/team/").get_data(as_text=True)
    assert "meier" in page and "kollegin" in page
    assert "DE89370400440532013000" in new_owner.get(f"/my/payment/show/{meier.id}").get_data(as_text=True)


def test_staff_see_and_manage_teams_in_the_desk(client, make, meier):
    kollegin = make.team_member(meier, "kollegin")
    make.user("staff", "Staff")
    login(client, "staff")
    listing = client.get("/desk/team-members/list/").get_data(as_text=True)
    assert "kollegin" in listing and "meier" in listing
    member_id = db.session.scalar(sa.select(TeamMember.id).where(TeamMember.user_id == kollegin.id))
    token = csrf_token(client, "/desk/team-members/list/")
    response = client.post("/desk/team-members/action_post",
                           data={"action": "remove", "rowid": [member_id], "csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TeamMember)) == 0
    assert db.session.get(User, kollegin.id).active is False
    [entry] = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.entity == "team")).all()
    assert entry.actor_label == "staff" and entry.address_id == meier.address_id


def test_partners_and_members_cannot_open_the_desks_team_pages(client, make, meier):
    make.team_member(meier, "kollegin")
    for who in ("meier", "kollegin"):
        login(client, who)
        for url in ["/desk/team-members/list/", "/desk/team-invitations/list/"]:
            assert client.get(url).status_code == 403, (who, url)
        client.get("/logout/")


def test_an_invitation_never_takes_over_an_existing_login(client, make, meier):
    make.user("staff", "Staff")
    make.partner("schulz")
    db.session.execute(sa.update(User).values(email=User.username + "@example.org"))
    db.session.commit()
    login(client, "meier")
    for email in ("staff@example.org", "schulz@example.org", "meier@example.org"):
        _invite(client, email)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TeamInvitation)) == 0
    assert "Es gibt bereits eine Anmeldung mit dieser E-Mail-Adresse." in \
        client.get("/my/team/").get_data(as_text=True)


def test_a_removed_member_can_be_invited_again(app, client, make, meier, smtp_server):
    login(client, "meier")
    _invite(client)
    _join(app.test_client(), _mailed_link(smtp_server))
    kim = db.session.scalar(sa.select(User).where(User.username == "kim@example.org"))
    token = csrf_token(client, "/my/team/")
    client.post(f"/my/team/remove/{kim.id}", data={"csrf_token": token})
    _invite(client)
    link = _mailed_link(smtp_server, 2)
    assert _join(app.test_client(), link, password="neues-passwort-2").status_code == 302
    login(app.test_client(), "kim@example.org", "neues-passwort-2")


def test_staff_make_a_member_the_owner(client, make, meier):
    kollegin = make.team_member(meier, "kollegin")
    make.user("staff", "Staff")
    login(client, "staff")
    member_id = db.session.scalar(sa.select(TeamMember.id).where(TeamMember.user_id == kollegin.id))
    old_owner = meier.user_id
    token = csrf_token(client, f"/desk/team-members/show/{member_id}")
    response = client.post(f"/desk/team-members/action/make_owner/{member_id}", data={"csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Partner, meier.id).user_id == kollegin.id
    assert [m.user_id for m in db.session.scalars(sa.select(TeamMember))] == [old_owner]


def test_the_owner_is_listed_as_joined_when_the_partner_account_was_created(client, make, meier):
    from backoffice.services import teams

    with db.session.begin_nested():
        meier = db.session.get(Partner, meier.id)
        meier.created_at = meier.created_at.replace(year=2025, month=3, day=14, hour=12)
    [owner] = teams.members(db.session, meier)
    assert owner.owner and owner.joined_at == meier.created_at
    login(client, "meier")
    page = client.get("/my/team/").get_data(as_text=True)
    assert "14.03.2025" in page
