"""Background tasks: everybody sees the tasks they started, nobody else's."""

from flask_babel import lazy_gettext as _l

from ..jobs import cleanup
from ..jobs.cli import jobs_cli
from ..security import FINANCE, PARTNER_ROLE, STAFF
from ..views.jobs import JobsView
from . import Area, Page

OWN_TASKS = "can_list|can_show|can_status|can_file"

AREA = Area(
    name="tasks",
    order=90,
    pages=(Page(JobsView, "My jobs", _l("My jobs"), "fa-tasks", None,
                {STAFF: OWN_TASKS, FINANCE: OWN_TASKS, PARTNER_ROLE: OWN_TASKS}),),
    commands=(jobs_cli,),
    task_modules=(cleanup,),
)
