"""Partners: the selling side of an address, with its public profile and SEPA mandate.

Kept in its own table keyed by `partner.id` so that later features (categories and
bids, services and packages, job preferences, teams) hang off the partner, not off
every address.
"""

from flask_appbuilder import Model
from flask_appbuilder.models.mixins import ImageColumn
from sqlalchemy import Boolean, Column, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import mapped_column, relationship

from .types import UTCDateTime, utcnow


class Partner(Model):
    __tablename__ = "partner"

    id = Column(Integer, primary_key=True)
    address_id = Column(Integer, ForeignKey("address.id", ondelete="RESTRICT"),
                        nullable=False, unique=True)
    # The one login of this partner (role Partner); unique: one user, one partner.
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"),
                     nullable=True, unique=True)
    subdomain = Column(String(63), nullable=False, unique=True)
    profile_text = Column(Text, nullable=True)
    picture = Column(ImageColumn(size=(300, 300, True), thumbnail_size=(60, 60, True)),
                     nullable=True)
    notification_email = Column(String(254), nullable=True)
    time_zone = Column(String(64), nullable=False, default="Europe/Berlin")
    available = Column(Boolean, nullable=False, default=True)
    # Payment profile: SEPA direct-debit mandate.
    # active_history: the audit trail needs old values even when they were not loaded.
    iban = mapped_column(String(34), nullable=True, active_history=True)
    bic = mapped_column(String(11), nullable=True, active_history=True)
    mandate_reference = mapped_column(String(35), nullable=True, unique=True, active_history=True)
    mandate_date = mapped_column(Date, nullable=True, active_history=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    address = relationship("Address", back_populates="partner")
    user = relationship("User")

    @property
    def has_mandate(self) -> bool:
        return bool(self.iban and self.mandate_reference and self.mandate_date)

    def __str__(self) -> str:
        return f"{self.address.name if self.address else '?'} ({self.subdomain})"
