"""Builders for the directory: categories and partners with a published profile and services."""

from __future__ import annotations

from decimal import Decimal

from backoffice import transaction
from backoffice.extensions import db
from backoffice.models import Category
from backoffice.services import profiles


def category(name_de: str, name_en: str, parent: Category | None = None, active: bool = True) -> Category:
    with transaction.unit_of_work() as session:
        row = Category(name_de=name_de, name_en=name_en, parent_id=parent.id if parent else None,
                       active=active, position=0)
        session.add(row)
    return row


def published_partner(make, username: str, category: Category, postal_code: str = "10115",
                      radius_km: int = 50, germany_wide: bool = False, display_name: str | None = None,
                      packages: int = 2, published: bool = True, service_active: bool = True):
    """A partner login with a (published) profile and one service with `packages` packages."""
    partner = make.partner(username)
    partner_id = partner.id
    with transaction.unit_of_work() as session:
        profiles.save_profile(session, partner_id, {
            "display_name": display_name or f"{username.title()} GmbH", "postal_code": postal_code,
            "radius_km": radius_km, "germany_wide": germany_wide, "languages": ["de", "en"],
            "profile_text": f"{username.title()} arbeitet sauber.", "available": True, "listed": True,
            "published": published})
        profiles.save_service(session, partner_id, {
            "category_id": category.id, "title": f"Leistung von {username}", "price_from": "49.00",
            "active": service_active}, [
            profiles.PackageInput(f"Paket {n}", "Beschreibung", Decimal("49.00") * n, 3 * n)
            for n in range(1, packages + 1)])
    db.session.expire_all()
    return partner
