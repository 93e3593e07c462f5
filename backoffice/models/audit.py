"""The audit trail: who changed which tracked field, when, from what to what."""

from flask_appbuilder import Model
from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import relationship

from .types import UTCDateTime, utcnow


class AuditEntry(Model):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_address_time", "address_id", "occurred_at"),
                      # The newest entries first (the staff start page, the trail's list).
                      Index("ix_audit_entry_time", "occurred_at", "id"))

    id = Column(Integer, primary_key=True)
    occurred_at = Column(UTCDateTime, nullable=False, default=utcnow)
    actor_user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    # Who acted when no user is logged in ("cli", "import", "shop api"), else the username.
    actor_label = Column(String(100), nullable=False)
    entity = Column(String(32), nullable=False)          # "address" / "partner"
    entity_id = Column(Integer, nullable=False)
    address_id = Column(Integer, ForeignKey("address.id", ondelete="CASCADE"), nullable=False)
    field = Column(String(64), nullable=False)
    old_value = Column(Text, nullable=True)
    new_value = Column(Text, nullable=True)
    reason = Column(Text, nullable=True)

    actor = relationship("User")
    address = relationship("Address")

    # (field, value) pairs for lists that show a value the way its field reads it (a sponsor's
    # number as its name, a type as its label): a list column's formatter sees one value only.
    @property
    def old_change(self) -> tuple[str, str | None]:
        return self.field, self.old_value

    @property
    def new_change(self) -> tuple[str, str | None]:
        return self.field, self.new_value
