"""Background tasks: everybody sees the tasks they started, nobody else's."""

from flask_babel import lazy_gettext as _l

from ..security import FINANCE, PARTNER_ROLE, STAFF
from ..tasks import cleanup
from ..tasks.cli import tasks_cli
from ..views.tasks import TasksView
from . import Area, Page

OWN_TASKS = "can_list|can_show|can_status|can_file"

AREA = Area(
    name="tasks",
    order=90,
    pages=(Page(TasksView, "Background tasks", _l("Background tasks"), "fa-tasks", None,
                {STAFF: OWN_TASKS, FINANCE: OWN_TASKS, PARTNER_ROLE: OWN_TASKS}),),
    commands=(tasks_cli,),
    task_modules=(cleanup,),
)
