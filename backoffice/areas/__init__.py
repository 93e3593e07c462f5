"""Areas register themselves: one module per area declares what it adds to the app.

An area (addresses, downline, imports, vouchers, tasks, …) lists its menu pages, links and
REST APIs, which role may do what on each (`grants`), its CLI commands and the modules that
define its background tasks. `app.create_app` registers every area of this package, and the
roles are composed from all areas' grants, so adding a page, an API or a task touches the
area's own files only. A page's menu entry and its menu category are granted to every role
that may use the page: the menu never shows what a role cannot open.

This is the top floor: it imports views and APIs; nothing below imports it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType

from flask import Flask
from flask_appbuilder import AppBuilder
from flask_babel import lazy_gettext as _l

from ..security import builtin_roles

# Menu categories shared by several areas, in menu order.
CATEGORIES = {"Desk": _l("Desk"), "My area": _l("My area"), "Vouchers": _l("Vouchers")}

# Permission patterns used by many grants.
ALL = ".*"
READ = "can_list|can_show|can_get|can_info|can_export|menu_access"


@dataclass(frozen=True)
class Page:
    """A view with a menu entry. `name` is the entry's stable name (and menu permission)."""

    view: type
    name: str
    label: object
    icon: str
    category: str | None = None
    grants: Mapping[str, str] = field(default_factory=dict)  # role → permission pattern
    # A partner's page that only the team's owner may open: hidden from its team members.
    owner_only: bool = False


@dataclass(frozen=True)
class Link:
    """A menu entry pointing at a URL of a page registered elsewhere."""

    name: str
    label: object
    href: str
    icon: str
    category: str | None
    roles: Sequence[str]


@dataclass(frozen=True)
class Api:
    api: type
    grants: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Area:
    name: str
    order: int
    pages: Sequence[Page] = ()
    links: Sequence[Link] = ()
    apis: Sequence[Api] = ()
    # Grants on views that are not pages of this area (FAB's own account pages, API docs).
    grants: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)
    commands: Sequence = ()
    # Modules whose import registers background tasks (`backoffice.tasks.task`).
    task_modules: Sequence[ModuleType] = ()
    # Called with the app after the views are in place, for hooks an area needs.
    setup: Callable[[Flask], None] | None = None

    def register(self, appbuilder: AppBuilder) -> None:
        for page in self.pages:
            category = {"category": page.category,
                        "category_label": CATEGORIES.get(page.category, page.category)} \
                if page.category else {}
            appbuilder.add_view(page.view, page.name, label=page.label, icon=page.icon, **category)
        for link in self.links:
            appbuilder.add_link(link.name, label=link.label, href=link.href, icon=link.icon,
                                category=link.category)
        for api in self.apis:
            appbuilder.add_api(api.api)

    def role_grants(self) -> dict[str, list[tuple[str, str]]]:
        """(view pattern, permission pattern) per role, menu entries included."""
        grants: dict[str, list[tuple[str, str]]] = {}
        for role, pairs in self.grants.items():
            grants.setdefault(role, []).extend(pairs)
        for page in self.pages:
            for role, permissions in page.grants.items():
                menus = [page.name, *([page.category] if page.category else [])]
                grants.setdefault(role, []).extend(
                    [(_permission_name(page.view), permissions), *((m, "menu_access") for m in menus)])
        for link in self.links:
            for role in link.roles:
                menus = [link.name, *([link.category] if link.category else [])]
                grants.setdefault(role, []).extend((m, "menu_access") for m in menus)
        for api in self.apis:
            for role, permissions in api.grants.items():
                grants.setdefault(role, []).append((_permission_name(api.api), permissions))
        return grants


def _permission_name(view: type) -> str:
    return getattr(view, "class_permission_name", None) or view.__name__


def all_areas() -> list[Area]:
    """Every module of this package that declares an `AREA`, in menu order."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        area = getattr(module, "AREA", None)
        if isinstance(area, Area):
            found.append(area)
    return sorted(found, key=lambda area: (area.order, area.name))


def roles(areas: Sequence[Area]) -> dict[str, list[list[str]]]:
    """FAB's builtin roles, composed from every area's grants."""
    grants: dict[str, list[tuple[str, str]]] = {}
    for area in areas:
        for role, pairs in area.role_grants().items():
            grants.setdefault(role, []).extend(pairs)
    return builtin_roles(grants)


def register(app: Flask, appbuilder: AppBuilder, areas: Sequence[Area]) -> None:
    for area in areas:
        area.register(appbuilder)
    for area in areas:
        for command in area.commands:
            app.cli.add_command(command)
        if area.setup is not None:
            area.setup(app)
