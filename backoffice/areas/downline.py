"""The sponsor tree: Desk navigator, moves and visibility; the partner's downline (D1–D6)."""

from flask_babel import lazy_gettext as _l

from downline import tasks as downline_tasks
from downline.cli import downline_cli

from ..api.downline import DownlineApi
from ..security import PARTNER_ROLE, STAFF
from ..views.downline import DeskDownlineView, MyDownlineView
from . import ALL, Api, Area, Link, Page

# The partner's pages check every node against the partner's own position themselves.
PARTNER_DOWNLINE = "can_index|can_node|can_new_customers|can_stats|can_tree|can_tree_svg|can_export"

AREA = Area(
    name="downline",
    order=20,
    pages=(
        Page(DeskDownlineView, "Downline", _l("Downline"), "fa-sitemap", "Desk", {STAFF: ALL}),
        Page(MyDownlineView, "My downline", _l("My downline"), "fa-sitemap", "My area",
             {PARTNER_ROLE: PARTNER_DOWNLINE}),
    ),
    links=(
        Link("My new customers", _l("My new customers"), "/my/downline/new-customers/", "fa-user-plus",
             "My area", (PARTNER_ROLE,)),
    ),
    # The API grants what the pages grant: it asks for the permissions on the two pages.
    apis=(Api(DownlineApi),),
    commands=(downline_cli,),
    task_modules=(downline_tasks,),
)
