"""Partner organisations: invite, join, remove, hand over ownership.

The owner is the partner's own login (`partner.user_id`); members are `TeamMember` rows.
Only the owner (or staff) changes the team. An invitation is a link with a random secret
(only its hash is stored) that expires after `TEAM_INVITATION_HOURS` and works once: the
conditional UPDATE in `accept` lets one of two concurrent clicks through. A removed member's
login is deactivated in the same transaction: its session and API tokens stop working at
once, and `backoffice.security.current_partner` finds no partner for it any more.
Every change is written to the audit trail of the partner's address.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError
from flask import current_app
from flask_appbuilder.security.sqla.models import Role, User
from flask_babel import gettext as _
from werkzeug.security import generate_password_hash

from ..audit import current_actor
from ..errors import Conflict, DomainError, Forbidden, NotFound, RuleViolations
from ..local_values import moment_text
from ..models import AuditEntry, Partner
from ..models.teams import TeamInvitation, TeamMember, organisation_of
from ..models.types import utcnow
from ..rules import normalize_email
from ..security import PARTNER_ROLE
from . import mail

MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class Member:
    user_id: int
    username: str
    name: str
    email: str
    owner: bool
    joined_at: datetime | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _audit(session, partner: Partner, field: str, old=None, new=None) -> None:
    actor = current_actor()
    session.add(AuditEntry(actor_user_id=actor.user_id, actor_label=actor.label[:100], entity="team",
                           entity_id=partner.id, address_id=partner.address_id, field=field,
                           old_value=old, new_value=new))


def partner_of_user(session, user_id: int) -> Partner | None:
    return session.execute(organisation_of(user_id)).scalar_one_or_none()


def is_owner(partner: Partner | None, user_id: int | None) -> bool:
    return partner is not None and user_id is not None and partner.user_id == user_id


def require_owner(partner: Partner | None, user_id: int | None) -> Partner:
    if not is_owner(partner, user_id):
        raise Forbidden("owner_only", _("Only the owner of the partner account may do this."))
    return partner


def members(session, partner: Partner) -> list[Member]:
    """The owner first (joined with the partner account's creation), then the members by
    name."""
    rows = session.execute(
        sa.select(User, TeamMember.joined_at).outerjoin(
            TeamMember, sa.and_(TeamMember.user_id == User.id, TeamMember.partner_id == partner.id))
        .where(sa.or_(User.id == partner.user_id, TeamMember.id.is_not(None)))
    ).all()
    found = [Member(user.id, user.username, f"{user.first_name} {user.last_name}".strip(), user.email,
                    user.id == partner.user_id,
                    partner.created_at if joined is None and user.id == partner.user_id else joined)
             for user, joined in rows]
    return sorted(found, key=lambda m: (not m.owner, m.name.lower()))


def open_invitations(session, partner: Partner) -> list[TeamInvitation]:
    now = utcnow()
    return session.scalars(sa.select(TeamInvitation).where(
        TeamInvitation.partner_id == partner.id, TeamInvitation.accepted_at.is_(None),
        TeamInvitation.revoked_at.is_(None), TeamInvitation.expires_at > now)
        .order_by(TeamInvitation.created_at)).all()


def _user_by_email(session, email: str) -> User | None:
    return session.scalars(sa.select(User).where(
        sa.or_(sa.func.lower(User.email) == email, sa.func.lower(User.username) == email))).first()


def _refuse_taken(session, email: str) -> User | None:
    """An invitation creates a new login, or revives the login of a removed team member; it
    never takes over a login in use (a colleague's, staff's, another partner's)."""
    user = _user_by_email(session, email)
    if user is None:
        return None
    if user.active or partner_of_user(session, user.id) is not None or \
            any(role.name != PARTNER_ROLE for role in user.roles):
        raise Conflict("login_exists", _("There is already a login with this e-mail address."))
    return user


def invite(session, partner: Partner, email: str, *, language: str = "de", inviter_name: str = "",
           join_url: str) -> tuple[TeamInvitation, str]:
    """Invite `email` into `partner`'s team: the invitation and its link (`join_url` + secret).
    The mail is queued in the same transaction."""
    try:
        email = normalize_email(email or "")
    except (EmailNotValidError, ValueError):
        raise RuleViolations({"email": [_("Not a valid e-mail address.")]}) from None
    _refuse_taken(session, email)
    now = utcnow()
    for old in open_invitations(session, partner):
        if old.email == email:
            old.revoked_at = now  # the newest link replaces an older one
    token = secrets.token_urlsafe(32)
    hours = int(current_app.config.get("TEAM_INVITATION_HOURS", 72))
    invitation = TeamInvitation(partner_id=partner.id, email=email, language=mail.language_of(language),
                                token_hash=_hash(token), expires_at=now + timedelta(hours=hours),
                                invited_by_user_id=current_actor().user_id)
    session.add(invitation)
    link = join_url.rstrip("/") + "/" + token
    mail.queue_mail(session, "team_invitation", email, invitation.language, {
        "partner_name": partner.address.name if partner.address else partner.subdomain,
        "inviter_name": inviter_name or _("Your colleague"),
        "link": link,
        "expires": moment_text(invitation.expires_at),
    })
    _audit(session, partner, "invitation", None, email)
    return invitation, link


def invitation_for(session, token: str) -> TeamInvitation:
    """The open invitation a link names; why not, if it is not open any more."""
    invitation = session.scalar(sa.select(TeamInvitation)
                                .where(TeamInvitation.token_hash == _hash(token or "")))
    if invitation is None:
        raise NotFound("no_invitation", _("This invitation link is not valid."))
    if invitation.accepted_at is not None:
        raise DomainError("invitation_used", _("This invitation has already been used."), status=410)
    if invitation.revoked_at is not None or invitation.expires_at <= utcnow():
        raise DomainError("invitation_expired", _("This invitation has expired. Ask for a new one."),
                          status=410)
    return invitation


def accept(session, token: str, *, first_name: str, last_name: str, password: str) -> User:
    """Join the team with a new login (user name = e-mail address) and the given password."""
    invitation = invitation_for(session, token)
    errors = {}
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors["password"] = [_("At least %(n)d characters.", n=MIN_PASSWORD_LENGTH)]
    if not (last_name or "").strip():
        errors["last_name"] = [_("Please enter your last name.")]
    if errors:
        raise RuleViolations(errors)
    now = utcnow()
    table = TeamInvitation.__table__
    taken = session.execute(sa.update(table).where(
        table.c.id == invitation.id, table.c.accepted_at.is_(None), table.c.revoked_at.is_(None),
        table.c.expires_at > now).values(accepted_at=now)).rowcount
    if taken != 1:
        raise DomainError("invitation_used", _("This invitation has already been used."), status=410)
    partner = session.get(Partner, invitation.partner_id)
    user = _refuse_taken(session, invitation.email)
    role = session.scalar(sa.select(Role).where(Role.name == PARTNER_ROLE))
    method = current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt")
    if user is None:
        user = User(username=invitation.email, email=invitation.email, roles=[role])
        session.add(user)
    else:
        user.roles = [role]
    user.first_name, user.last_name = (first_name or "").strip()[:64], last_name.strip()[:64]
    user.password = generate_password_hash(password, method=method)
    user.active = True
    session.flush()
    session.add(TeamMember(partner_id=partner.id, user_id=user.id, joined_at=now))
    session.execute(sa.update(table).where(table.c.id == invitation.id).values(accepted_user_id=user.id))
    _audit(session, partner, "member", None, user.username)
    return user


def _member(session, partner: Partner, user_id: int) -> TeamMember:
    member = session.scalar(sa.select(TeamMember).where(TeamMember.partner_id == partner.id,
                                                        TeamMember.user_id == user_id))
    if member is None:
        raise NotFound("no_member", _("This login is not a member of the team."))
    return member


def remove(session, partner: Partner, user_id: int) -> None:
    """Take a member out of the team; its login stops working at once."""
    member = _member(session, partner, user_id)
    user = session.get(User, user_id)
    session.delete(member)
    if user is not None:
        user.active = False
    _audit(session, partner, "member", user.username if user else str(user_id), None)


def revoke(session, partner: Partner, invitation_id: int) -> None:
    invitation = session.get(TeamInvitation, invitation_id)
    if invitation is None or invitation.partner_id != partner.id or invitation.accepted_at is not None:
        raise NotFound()
    invitation.revoked_at = utcnow()
    _audit(session, partner, "invitation", invitation.email, None)


def hand_over(session, partner: Partner, user_id: int) -> None:
    """Make member `user_id` the owner; the owner so far stays on as a member."""
    member = _member(session, partner, user_id)
    old_owner_id = partner.user_id
    old_owner = session.get(User, old_owner_id) if old_owner_id else None
    new_owner = session.get(User, user_id)
    session.delete(member)
    session.flush()
    partner.user_id = user_id
    session.flush()
    if old_owner_id is not None:
        session.add(TeamMember(partner_id=partner.id, user_id=old_owner_id, joined_at=utcnow()))
    _audit(session, partner, "owner", old_owner.username if old_owner else None, new_owner.username)
