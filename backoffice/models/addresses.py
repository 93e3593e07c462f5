"""Addresses: every person or company the company knows, with its place in the sponsor tree."""

import enum

from flask_appbuilder import Model
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import mapped_column, relationship

from .types import UTCDateTime, utcnow


def _values(enum_cls):
    return [member.value for member in enum_cls]


class LabelledEnum(str, enum.Enum):
    """A string enum whose members render with a translated label in forms and lists.

    Member names equal their stored values: FAB's enum form field looks members up by
    the column's stored strings.
    """

    def __str__(self) -> str:
        return str(self.LABELS[self.value]) if hasattr(self, "LABELS") else self.value


class AddressType(LabelledEnum):
    new_customer = "new_customer"
    customer = "customer"
    partner = "partner"


AddressType.LABELS = {
    "new_customer": _l("New customer"),
    "customer": _l("Customer"),
    "partner": _l("Partner"),
}


class Salutation(LabelledEnum):
    mr = "mr"
    ms = "ms"
    diverse = "diverse"
    company = "company"


Salutation.LABELS = {
    "mr": _l("Mr"),
    "ms": _l("Ms"),
    "diverse": _l("Mx"),
    "company": _l("Company"),
}


# Functional form: "import" is a Python keyword but must be a member name (see above).
RegistrationSource = LabelledEnum(
    "RegistrationSource",
    [(v, v) for v in ("shop", "partner_subdomain", "import", "api", "desk")],
)
RegistrationSource.LABELS = {
    "shop": _l("Shop"),
    "partner_subdomain": _l("Partner subdomain"),
    "import": _l("Import"),
    "api": _l("API"),
    "desk": _l("Desk"),
}


class Language(LabelledEnum):
    de = "de"
    en = "en"


Language.LABELS = {"de": _l("German"), "en": _l("English")}


# Byte order on PostgreSQL, whatever the database's locale: prefix range scans need it.
TREE_PATH = String(2000).with_variant(String(2000, collation="C"), "postgresql")


def _enum(enum_cls, name):
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        values_callable=_values,
        validate_strings=True,
        length=24,
    )


class Address(Model):
    __tablename__ = "address"
    __table_args__ = (
        # Firstline pages: children of one sponsor, by type, in a stable order.
        Index("ix_address_sponsor_type_id", "sponsor_id", "type", "id"),
        CheckConstraint("sponsor_id IS NULL OR sponsor_id <> id", name="ck_address_not_own_sponsor"),
        # Firstline pages of a big sponsor in name order, and its newest new customers.
        Index("ix_address_sponsor_name", "sponsor_id", "last_name", "first_name", "id"),
        Index("ix_address_sponsor_type_registered", "sponsor_id", "type", "registered_at", "id"),
        # The drawn downline: a firstline's biggest downlines first, a page at a time.
        Index("ix_address_sponsor_downline", "sponsor_id", "downline_count", "id"),
    )

    id = Column(Integer, primary_key=True)
    # active_history: the audit trail needs the old value even when it was not loaded.
    type = mapped_column(_enum(AddressType, "address_type"), nullable=False,
                         default=AddressType.new_customer, index=True, active_history=True)
    salutation = Column(_enum(Salutation, "salutation"), nullable=True)
    first_name = Column(String(100), nullable=True)
    last_name = Column(String(100), nullable=False, index=True)
    company = Column(String(200), nullable=True)
    email = Column(String(254), nullable=True, unique=True)
    phone = Column(String(50), nullable=True)
    street = Column(String(200), nullable=True)
    postal_code = Column(String(10), nullable=True)
    city = Column(String(100), nullable=True)
    country = Column(String(2), nullable=False, default="DE")
    language = Column(_enum(Language, "language"), nullable=False, default=Language.de)
    registration_source = Column(_enum(RegistrationSource, "registration_source"), nullable=False,
                                 default=RegistrationSource.desk)
    # active_history: the kept counts per day (`downline.counters`) need the old day.
    registered_at = mapped_column(UTCDateTime, nullable=False, default=utcnow, index=True,
                                  active_history=True)
    first_order_at = mapped_column(UTCDateTime, nullable=True, index=True, active_history=True)
    sponsor_id = mapped_column(Integer, ForeignKey("address.id", ondelete="RESTRICT"), nullable=True,
                               active_history=True)
    # Derived from sponsor_id, maintained by downline.tree in the same flush (never by hand):
    # the sizes of the own firstline and whole downline (the place in the tree, path and
    # depth, is in `AddressTree`).
    firstline_count = Column(Integer, nullable=False, default=0, server_default="0")
    downline_count = Column(Integer, nullable=False, default=0, server_default="0")
    consent_contact_by_sponsor = Column(Boolean, nullable=False, default=False)
    consent_marketing = Column(Boolean, nullable=False, default=False)
    external_key = Column(String(64), nullable=True, unique=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    sponsor = relationship("Address", remote_side=[id], back_populates="firstline")
    firstline = relationship("Address", back_populates="sponsor", lazy="dynamic")
    partner = relationship("Partner", back_populates="address", uselist=False)
    # Written only by downline.tree's flush hooks (hence view-only); loaded with the address.
    tree = relationship("AddressTree", viewonly=True, uselist=False, lazy="joined")

    @property
    def path(self) -> str | None:
        """Ancestor ids from the root down to the sponsor, "/1/2/57/"; None while unplaced."""
        return self.tree.path if self.tree is not None else None

    @property
    def depth(self) -> int | None:
        return self.tree.depth if self.tree is not None else None

    @property
    def name(self) -> str:
        return display_name(self.first_name, self.last_name, self.company)

    def __str__(self) -> str:
        return f"{self.name} [{self.id}]" if self.id else self.name

    # What a sponsor may see of its firstline: contact data only with consent (A8).
    @property
    def contact_email(self) -> str | None:
        return self.email if self.consent_contact_by_sponsor else None

    @property
    def contact_phone(self) -> str | None:
        return self.phone if self.consent_contact_by_sponsor else None


class AddressTree(Model):
    """An address's place in the sponsor tree, kept apart from the wide address row.

    A move rewrites path and depth of the whole moved downline. In the address row each new
    row version entered all of its 12 indexes (PostgreSQL, 102k moved: 6.3 s for the UPDATE
    alone); this narrow row has 3. `type` is a copy of the address's, kept in step by the
    same hooks, so counts per level and type are answered from this table's index alone.
    One row per address, written by downline.tree (never by hand).
    """

    __tablename__ = "address_tree"
    __table_args__ = (
        # Downline questions: a prefix range over the materialized path (see downline/tree.py),
        # answered from the index alone: depth and type ride along, and the address id does
        # too (SQLite's rowid; PostgreSQL needs INCLUDE, else each entry costs a heap visit).
        Index("ix_address_tree_path", "path", "depth", "type", postgresql_include=["address_id"]),
        # Counts per level and type of a downline: one index seek per level and type, counting
        # only the downline's own entries (no sort of a million rows).
        Index("ix_address_tree_depth_type_path", "depth", "type", "path"),
    )

    address_id = Column(Integer, ForeignKey("address.id", ondelete="CASCADE"), primary_key=True,
                        autoincrement=False)
    path = Column(TREE_PATH, nullable=True)
    depth = Column(Integer, nullable=True)
    type = Column(_enum(AddressType, "address_type"), nullable=False)


def display_name(first_name: str | None, last_name: str | None, company: str | None) -> str:
    """An address's name: the person, with the company in brackets, or either alone."""
    person = " ".join(part for part in (first_name, last_name) if part)
    return f"{person} ({company})" if company and person else (person or company or "")
