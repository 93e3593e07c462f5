"""Categories ("Branchen"): the staff-managed list that services (and later bids) belong to.

Two levels: a top category ("Handwerk") and its subcategories ("Elektro"). Names in German
and English, so the public directory speaks the visitor's language. An inactive category is
kept (services and bids still point at it) but offered nowhere.
"""

from decimal import Decimal

from flask_appbuilder import Model
from sqlalchemy import Boolean, Column, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import relationship

from .types import UTCDateTime, utcnow


class Category(Model):
    __tablename__ = "category"
    __table_args__ = (UniqueConstraint("parent_id", "name_de", name="uq_category_parent_name_de"),)

    id = Column(Integer, primary_key=True)
    parent_id = Column(Integer, ForeignKey("category.id", ondelete="RESTRICT"), nullable=True,
                       index=True)
    name_de = Column(String(100), nullable=False)
    name_en = Column(String(100), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    # The lowest bid a partner may place for direct requests in this category.
    min_bid = Column(Numeric(12, 2), nullable=False, default=Decimal("5.00"), server_default="5.00")
    position = Column(Integer, nullable=False, default=0)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    parent = relationship("Category", remote_side=[id], back_populates="children")
    children = relationship("Category", back_populates="parent", order_by="Category.position")

    def name(self, locale: str | None) -> str:
        """The name in the given UI language (German unless English is asked for)."""
        return self.name_en if (locale or "").startswith("en") else self.name_de

    def full_name(self, locale: str | None = None) -> str:
        own = self.name(locale)
        return f"{self.parent.name(locale)} › {own}" if self.parent is not None else own

    def __str__(self) -> str:
        return self.full_name("de")
