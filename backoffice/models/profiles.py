"""A partner's public face: its profile, its services with packages, and the postal-code table.

The profile lives beside the partner row (one per partner, same id) and holds what the public
directory and the marketplace need: the name shown, the service area, the languages, whether
it is published, and the partner's job preferences. Profile text, picture, "available" and the
notification e-mail stay on `partner`, where the Desk, the API and the imports already keep
them; the directory reads them from there.

Coordinates are copied from `postal_code_location` into the profile whenever its postal code
changes, so that a radius search needs no join: a bounding box on the indexed latitude and
longitude narrows the candidates, the exact distance is computed for those only.
"""

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import mapped_column, relationship

from .types import UTCDateTime, utcnow


class PostalCodeLocation(Model):
    """German postal code → centre coordinates (GeoNames, CC BY 4.0; see docs/architecture.md)."""

    __tablename__ = "postal_code_location"
    # Reference data shipped with the application: filled by the migration, never emptied.
    __table_args__ = {"info": {"reference_data": True}}

    postal_code = Column(String(5), primary_key=True)
    place = Column(String(200), nullable=False)
    latitude = Column(Float, nullable=False)
    longitude = Column(Float, nullable=False)


class PartnerProfile(Model):
    __tablename__ = "partner_profile"
    __table_args__ = (
        CheckConstraint("radius_km >= 0 AND radius_km <= 1000", name="ck_partner_profile_radius"),
        # The directory's radius search: the bounding box and the flags come from the index
        # alone; only the candidates inside the box are read from the table.
        Index("ix_partner_profile_location", "latitude", "longitude", "published", "listed"),
        Index("ix_partner_profile_germany_wide", "germany_wide"),
        # The ranking: the few partners whose radius is wider than its box around a request.
        Index("ix_partner_profile_radius", "radius_km"),
    )

    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True)
    display_name = Column(String(120), nullable=False)
    postal_code = Column(String(5), nullable=True)
    latitude = Column(Float, nullable=True)
    longitude = Column(Float, nullable=True)
    radius_km = Column(Integer, nullable=False, default=50)
    germany_wide = Column(Boolean, nullable=False, default=False)
    # ISO 639-1 codes, comma-separated ("de,en").
    languages = Column(String(100), nullable=False, default="de")
    # active_history: the audit trail needs the old value even when it was not loaded.
    published = mapped_column(Boolean, nullable=False, default=False, active_history=True)
    published_at = Column(UTCDateTime, nullable=True)
    # Set when staff unpublish a profile; the partner sees it, and publishing again clears it.
    unpublished_reason = Column(Text, nullable=True)
    # Job preferences (available for work and the notification e-mail are on `partner`).
    away_until = Column(Date, nullable=True)
    listed = Column(Boolean, nullable=False, default=True)
    dropshipping = Column(Boolean, nullable=False, default=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    partner = relationship("Partner")
    services = relationship("Service", back_populates="profile", order_by="Service.id",
                            primaryjoin="PartnerProfile.partner_id == foreign(Service.partner_id)",
                            viewonly=True)

    @property
    def address_id(self) -> int:
        """The partner's address: the audit trail files profile changes under it."""
        return self.partner.address_id

    @property
    def language_list(self) -> list[str]:
        return [code for code in (self.languages or "").split(",") if code]

    def __str__(self) -> str:
        return self.display_name


class Service(Model):
    __tablename__ = "service"
    __table_args__ = (
        CheckConstraint("price_from IS NULL OR price_from >= 0", name="ck_service_price_from"),
        # The directory: active services of a category, and the partners offering them.
        Index("ix_service_category_active_partner", "category_id", "active", "partner_id"),
        # The radius search: a category's active services inside a box, or Germany-wide,
        # with their partners from the index alone (index-only scans; the place is the
        # profile's, copied here when it changes).
        Index("ix_service_category_location", "category_id", "active", "latitude", "longitude",
              "partner_id"),
        Index("ix_service_category_germany_wide", "category_id", "active", "germany_wide", "partner_id"),
    )

    id = Column(Integer, primary_key=True)
    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    category_id = Column(Integer, ForeignKey("category.id", ondelete="RESTRICT"), nullable=False)
    title = Column(String(200), nullable=False)
    description = Column(Text, nullable=True)
    price_from = Column(Numeric(12, 2), nullable=True)
    active = Column(Boolean, nullable=False, default=True)
    # Copies of the profile's place (`services.profiles` keeps them in step) for the search.
    latitude = Column(Float, nullable=True)
    longitude = Column(Float, nullable=True)
    germany_wide = Column(Boolean, nullable=False, default=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    category = relationship("Category")
    profile = relationship("PartnerProfile", back_populates="services",
                           primaryjoin="PartnerProfile.partner_id == foreign(Service.partner_id)",
                           viewonly=True)
    packages = relationship("ServicePackage", back_populates="service", order_by="ServicePackage.position",
                            cascade="all, delete-orphan")

    def __str__(self) -> str:
        return self.title


class ServicePackage(Model):
    __tablename__ = "service_package"
    __table_args__ = (
        CheckConstraint("price >= 0", name="ck_service_package_price"),
        CheckConstraint("delivery_days >= 0", name="ck_service_package_delivery"),
    )

    id = Column(Integer, primary_key=True)
    service_id = Column(Integer, ForeignKey("service.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    position = Column(Integer, nullable=False, default=0)
    name = Column(String(120), nullable=False)
    description = Column(Text, nullable=True)
    price = Column(Numeric(12, 2), nullable=False)
    delivery_days = Column(Integer, nullable=False)

    service = relationship("Service", back_populates="packages")

    def __str__(self) -> str:
        return self.name
