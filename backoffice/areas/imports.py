"""CSV imports (I1–I6): Desk upload, check and history; the REST endpoint; `flask import`."""

from flask_babel import lazy_gettext as _l

from imports import tasks as import_tasks
from imports.cli import import_command

from ..api.imports import ImportApi
from ..security import FINANCE, STAFF
from ..views.imports import ImportsView
from . import ALL, Api, Area, Page

# Finance sees every past import (who, when, which file, counts) but does not import.
HISTORY = "can_list|can_show|can_get"

AREA = Area(
    name="imports",
    order=30,
    pages=(Page(ImportsView, "Imports", _l("Imports"), "fa-upload", "Desk", {STAFF: ALL, FINANCE: HISTORY}),),
    apis=(Api(ImportApi, {STAFF: ALL, FINANCE: HISTORY}),),
    commands=(import_command,),
    task_modules=(import_tasks,),
)
