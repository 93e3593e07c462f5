"""Partner organisations: one partner, several logins.

The owner is the partner's own login (`partner.user_id`); every further login of the
organisation is a `TeamMember`. A user belongs to at most one organisation (`user_id`
unique here, and never the owner of another partner), so "which partner does this login
work for" has one answer (`backoffice.security.current_partner`). Invitations carry only a
hash of their link's secret, expire, and are used once.
"""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Column, ForeignKey, Integer, Select, String, case, or_, select
from sqlalchemy.orm import relationship

from .partners import Partner
from .types import UTCDateTime, utcnow


class TeamMember(Model):
    __tablename__ = "team_member"

    id = Column(Integer, primary_key=True)
    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False, unique=True)
    joined_at = Column(UTCDateTime, nullable=False, default=utcnow)

    partner = relationship("Partner")
    user = relationship("User")

    def __str__(self) -> str:
        return self.user.username if self.user else str(self.user_id)


class TeamInvitation(Model):
    __tablename__ = "team_invitation"

    id = Column(Integer, primary_key=True)
    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), nullable=False, index=True)
    email = Column(String(254), nullable=False)
    language = Column(String(2), nullable=False, default="de")
    # sha256 of the link's secret: a copy of the table does not let anybody join.
    token_hash = Column(String(64), nullable=False, unique=True)
    expires_at = Column(UTCDateTime, nullable=False)
    accepted_at = Column(UTCDateTime, nullable=True)
    revoked_at = Column(UTCDateTime, nullable=True)
    invited_by_user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    accepted_user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    partner = relationship("Partner")

    def __str__(self) -> str:
        return self.email


def organisation_of(user_id: int) -> Select:
    """The partner a login works for: the one it owns or the one whose team it belongs to.
    Should a login be both (staff linked an owner login that is a member elsewhere), the
    owned partner wins: one answer, never two."""
    return (select(Partner).where(or_(
        Partner.user_id == user_id,
        Partner.id.in_(select(TeamMember.partner_id).where(TeamMember.user_id == user_id))))
        .order_by(case((Partner.user_id == user_id, 0), else_=1), Partner.id).limit(1))
