"""Categories ("Branchen"): the two-level list that services and bids point at.

Staff edit them in the Desk; the rules here keep the list at two levels (a subcategory's
parent is a top category, and a category with subcategories cannot itself move below
another) and give each name in German and English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import Select, and_, or_, select

from ..models import Category
from ..rules import CLEANERS, _Checker


def clean_category(session, values: Mapping, own_id: int | None = None):
    """The Desk form's and any caller's check of one category record."""
    c = _Checker(values)
    for field in ("name_de", "name_en"):
        if c.required(field):
            c.values[field] = str(c.values[field]).strip()
    parent_id = c.values.get("parent_id")
    if parent_id is not None:
        parent = session.get(Category, parent_id)
        if parent is None:
            c.error("parent", _("No such category."))
        elif parent.id == own_id:
            c.error("parent", _("A category cannot be its own parent."))
        elif parent.parent_id is not None:
            c.error("parent", _("Categories have two levels: choose a top category as parent."))
        elif own_id is not None and session.execute(
                select(Category.id).where(Category.parent_id == own_id).limit(1)).first():
            c.error("parent", _("This category has subcategories and must stay a top category."))
    if c.values.get("position") is None:
        c.values["position"] = 0
    if c.values.get("min_bid") is not None and Decimal(c.values["min_bid"]) < 0:
        c.error("min_bid", _("The minimum bid cannot be negative."))
    return c.values, c.errors


# The Desk's generated category form reports these rules at its fields (`views.mixins`).
CLEANERS[Category] = clean_category


@dataclass(frozen=True)
class CategoryChoice:
    id: int
    label: str
    parent_id: int | None
    is_top: bool


def category_choices(session, locale: str | None, *, active_only: bool = True) -> list[CategoryChoice]:
    """Top categories each followed by their subcategories, in the given language.

    An inactive top category hides its subcategories too.
    """
    stmt = select(Category).order_by(Category.position, Category.name_de)
    if active_only:
        stmt = stmt.where(Category.active.is_(True))
    rows = session.scalars(stmt).all()
    tops = [c for c in rows if c.parent_id is None]
    result = []
    for top in sorted(tops, key=lambda c: (c.position, c.name(locale))):
        result.append(CategoryChoice(top.id, top.name(locale), None, True))
        children = sorted((c for c in rows if c.parent_id == top.id),
                          key=lambda c: (c.position, c.name(locale)))
        result.extend(CategoryChoice(c.id, f"{top.name(locale)} › {c.name(locale)}", top.id, False)
                      for c in children)
    return result


def with_subcategories(session, category_id: int) -> list[int]:
    """The category and, for a top category, its active subcategories: a search for
    "Handwerk" finds the electrician filed under "Handwerk › Elektro"."""
    children = session.scalars(select(Category.id).where(Category.parent_id == category_id,
                                                         Category.active.is_(True))).all()
    return [category_id, *children]


def subcategories(category_id: int) -> Select:
    """`with_subcategories` as a SELECT of ids, for a query's `IN`."""
    return select(Category.id).where(or_(Category.id == category_id,
                                         and_(Category.parent_id == category_id, Category.active.is_(True))))


def usable_category(session, category_id) -> Category | None:
    """An active category (whose parent, if any, is active too), or None."""
    category = session.get(Category, category_id) if category_id is not None else None
    if category is None or not category.active:
        return None
    if category.parent is not None and not category.parent.active:
        return None
    return category

