"""directory: categories, public partner profiles, services with packages, postal-code table

The postal-code table is filled from `backoffice/data/de_postal_codes.csv` (GeoNames,
CC BY 4.0), so radius searches work offline from the first start.

Revision ID: 0012_directory
Revises: 0011_teams
Create Date: 2026-12-04 12:00:00

"""
import csv
from pathlib import Path

import sqlalchemy as sa
from alembic import op

from backoffice.models.types import UTCDateTime

revision = "0012_directory"
down_revision = "0011_teams"
branch_labels = None
depends_on = None

POSTAL_CODES = Path(__file__).resolve().parents[2] / "backoffice" / "data" / "de_postal_codes.csv"


def _timestamps():
    return [sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
            sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False)]


def upgrade():
    postal = op.create_table(
        "postal_code_location",
        sa.Column("postal_code", sa.String(5), primary_key=True),
        sa.Column("place", sa.String(200), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
    )
    with POSTAL_CODES.open(encoding="utf-8") as handle:
        rows = [{"postal_code": r["postal_code"], "place": r["place"],
                 "latitude": float(r["latitude"]), "longitude": float(r["longitude"])}
                for r in csv.DictReader(handle)]
    op.bulk_insert(postal, rows)

    op.create_table(
        "category",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("category.id", ondelete="RESTRICT"),
                  nullable=True),
        sa.Column("name_de", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("parent_id", "name_de", name="uq_category_parent_name_de"),
    )
    op.create_index("ix_category_parent_id", "category", ["parent_id"])

    op.create_table(
        "partner_profile",
        sa.Column("partner_id", sa.Integer(), sa.ForeignKey("partner.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("display_name", sa.String(120), nullable=False),
        sa.Column("postal_code", sa.String(5), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("radius_km", sa.Integer(), nullable=False),
        sa.Column("germany_wide", sa.Boolean(), nullable=False),
        sa.Column("languages", sa.String(100), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("published_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("unpublished_reason", sa.Text(), nullable=True),
        sa.Column("away_until", sa.Date(), nullable=True),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("dropshipping", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("radius_km >= 0 AND radius_km <= 1000", name="ck_partner_profile_radius"),
    )
    op.create_index("ix_partner_profile_location", "partner_profile", ["latitude", "longitude"])

    op.create_table(
        "service",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("partner_id", sa.Integer(), sa.ForeignKey("partner.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("category_id", sa.Integer(), sa.ForeignKey("category.id", ondelete="RESTRICT"),
                  nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("price_from", sa.Numeric(12, 2), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("price_from IS NULL OR price_from >= 0", name="ck_service_price_from"),
    )
    op.create_index("ix_service_partner_id", "service", ["partner_id"])
    op.create_index("ix_service_category_active_partner", "service",
                    ["category_id", "active", "partner_id"])

    op.create_table(
        "service_package",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("service_id", sa.Integer(), sa.ForeignKey("service.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("delivery_days", sa.Integer(), nullable=False),
        sa.CheckConstraint("price >= 0", name="ck_service_package_price"),
        sa.CheckConstraint("delivery_days >= 0", name="ck_service_package_delivery"),
    )
    op.create_index("ix_service_package_service_id", "service_package", ["service_id"])


def downgrade():
    op.drop_table("service_package")
    op.drop_table("service")
    op.drop_table("partner_profile")
    op.drop_table("category")
    op.drop_table("postal_code_location")
