"""Conversations and messages (M1–M7): the partner's conversations and team tags, the
customer's pages in the portal, reported conversations for staff, the hourly digest."""

from flask_babel import lazy_gettext as _l

from ..security import PARTNER_ROLE, STAFF
from ..tasks import messages as message_tasks
from ..views import conversations_portal  # noqa: F401 - adds the conversation pages to the portal
from ..views.conversations import MyConversationsView, ReportedConversationsView
from . import ALL, Area, Page

AREA = Area(
    name="conversations",
    order=43,
    pages=(
        Page(MyConversationsView, "My conversations", _l("Conversations"), "fa-comments", "My area",
             {PARTNER_ROLE: ALL}),
        Page(ReportedConversationsView, "Reported conversations", _l("Reported conversations"), "fa-flag",
             "Desk", {STAFF: ALL}),
    ),
    task_modules=(message_tasks,),
)
