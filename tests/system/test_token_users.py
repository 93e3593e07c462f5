"""API tokens' users are kept a few seconds per process (`backoffice.security.TokenUsers`):
a change saved here counts at once, one saved elsewhere within AUTH_TOKEN_USER_CACHE_SECONDS."""

import pytest
from sqlalchemy import text

from backoffice.extensions import db
from backoffice.security import token_users
from tests.support.http import api_token


@pytest.fixture
def clock(app, monkeypatch):
    """A clock the test moves; the cache on with 5 seconds."""
    now = [1000.0]
    monkeypatch.setattr(token_users, "clock", lambda: now[0])
    monkeypatch.setitem(app.config, "AUTH_TOKEN_USER_CACHE_SECONDS", 5)
    token_users.clear()
    yield now
    token_users.clear()


def _set_active_elsewhere(user_id: int, active: bool) -> None:
    """As another process would: straight SQL, no flush of this process's sessions."""
    db.session.execute(text("UPDATE ab_user SET active = :active WHERE id = :id"),
                       {"active": active, "id": user_id})
    db.session.commit()


def _deactivate(user, sm):
    user.active = False


def _give_staff(user, sm):
    user.roles.append(sm.find_role("Staff"))


@pytest.mark.parametrize("role, change, before, after", [
    ("Staff", _deactivate, 200, 401),
    ("Shop", _give_staff, 403, 200),
], ids=["deactivated", "given-staff"])
def test_change_saved_here_counts_at_once(client, make, clock, role, change, before, after):
    user = make.user("someone", role)
    headers = api_token(client, "someone")
    assert client.get("/api/v1/address/", headers=headers).status_code == before
    change(db.session.merge(user), client.application.appbuilder.sm)
    db.session.commit()
    assert client.get("/api/v1/address/", headers=headers).status_code == after


def test_user_deactivated_elsewhere_is_refused_within_the_cache_seconds(client, make, clock):
    user = make.user("staff", "Staff")
    headers = api_token(client, "staff")
    assert client.get("/api/v1/address/", headers=headers).status_code == 200
    _set_active_elsewhere(user.id, False)
    clock[0] += 4.9
    assert client.get("/api/v1/address/", headers=headers).status_code == 200
    clock[0] += 0.2
    assert client.get("/api/v1/address/", headers=headers).status_code == 401
    _set_active_elsewhere(user.id, True)  # a refusal is not kept
    assert client.get("/api/v1/address/", headers=headers).status_code == 200


def test_cache_off_reads_the_user_on_every_request(app, client, make, clock, monkeypatch):
    monkeypatch.setitem(app.config, "AUTH_TOKEN_USER_CACHE_SECONDS", 0)
    user = make.user("staff", "Staff")
    headers = api_token(client, "staff")
    assert client.get("/api/v1/address/", headers=headers).status_code == 200
    _set_active_elsewhere(user.id, False)
    assert client.get("/api/v1/address/", headers=headers).status_code == 401


def test_each_token_has_its_own_entry(client, make, clock):
    """A new login is checked afresh, even while an older token of the same user is cached."""
    user = make.user("staff", "Staff")
    old = api_token(client, "staff")
    assert client.get("/api/v1/address/", headers=old).status_code == 200
    new = api_token(client, "staff")
    _set_active_elsewhere(user.id, False)
    assert client.get("/api/v1/address/", headers=new).status_code == 401


def test_cached_user_serves_writes_with_its_name_in_the_audit(client, make, clock):
    """The cached user is detached from every request's session and still names the actor."""
    user = make.user("staff", "Staff")
    sponsor = make.address(last_name="Sponsorin")
    headers = api_token(client, "staff")
    for name in ("Erste", "Zweite", "Dritte"):
        response = client.post("/api/v1/address/", headers=headers,
                               json={"last_name": name, "sponsor_id": sponsor.id})
        assert response.status_code == 201, response.json
    actors = db.session.execute(text("SELECT actor_label, actor_user_id FROM audit_entry "
                                     "WHERE field = 'sponsor_id'")).all()
    assert actors == [("staff", user.id)] * 3
