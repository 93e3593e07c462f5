"""Articles sold in the shop."""

from decimal import Decimal

from flask_appbuilder import Model
from sqlalchemy import Boolean, CheckConstraint, Column, Integer, Numeric, String

from .types import UTCDateTime, utcnow

VAT_RATES = (Decimal("19"), Decimal("7"), Decimal("0"))
"""German VAT rates an article can carry, in percent."""


class Article(Model):
    __tablename__ = "article"
    __table_args__ = (
        CheckConstraint("gross_price >= 0", name="ck_article_price_not_negative"),
        CheckConstraint("vat_rate IN (19, 7, 0)", name="ck_article_vat_rate"),
    )

    id = Column(Integer, primary_key=True)
    article_no = Column(String(32), nullable=False, unique=True)
    name = Column(String(200), nullable=False)
    gross_price = Column(Numeric(12, 2), nullable=False)
    vat_rate = Column(Numeric(4, 2), nullable=False, default=Decimal("19"))
    discountable_by_absolute_vouchers = Column(Boolean, nullable=False, default=True)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    def __str__(self) -> str:
        return f"{self.article_no} {self.name}"
