"""What sponsors may see of their downline (A8), and the log of personal-data exports."""

from flask_appbuilder import Model
from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint

from .types import UTCDateTime, utcnow


class DownlineVisibility(Model):
    """One staff decision: is `field` shown to a sponsor in `scope`? Rows override defaults."""

    __tablename__ = "downline_visibility"
    __table_args__ = (UniqueConstraint("scope", "field", name="uq_downline_visibility_scope_field"),)

    id = Column(Integer, primary_key=True)
    scope = Column(String(20), nullable=False)   # firstline / deeper / new_customers
    field = Column(String(40), nullable=False)
    visible = Column(Boolean, nullable=False, default=False)


class PersonalDataExport(Model):
    """Who exported which personal data of which downline, when (A8)."""

    __tablename__ = "personal_data_export"
    __table_args__ = (Index("ix_personal_data_export_time", "occurred_at"),)

    id = Column(Integer, primary_key=True)
    occurred_at = Column(UTCDateTime, nullable=False, default=utcnow)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    actor_label = Column(String(100), nullable=False)
    root_address_id = Column(Integer, nullable=False)
    level = Column(Integer, nullable=True)
    file_format = Column(String(8), nullable=False)
    row_count = Column(Integer, nullable=False)
    fields = Column(Text, nullable=False)


class AddressCounter(Model):
    """A count over the whole address table kept up to date instead of counted per page view
    (`downline.counters`): "registered, never ordered" is the number of `new_customer` entries."""

    __tablename__ = "address_counter"

    name = Column(String(40), primary_key=True)
    value = Column(BigInteger, nullable=False, default=0, server_default="0")
