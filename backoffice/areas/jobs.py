"""Expert jobs (J1–J7): the partner's jobs and leads, the customer's job pages in the portal,
and the sweep that expires unanswered jobs and sends reminders."""

from flask_babel import lazy_gettext as _l

from ..security import PARTNER_ROLE
from ..tasks import jobs as job_tasks
from ..views import jobs_portal  # noqa: F401 - adds the job pages to the portal
from ..views.jobs import MyJobsView
from . import Area, Page

AREA = Area(
    name="jobs",
    order=43,
    pages=(
        Page(
            MyJobsView,
            "My jobs",
            _l("My jobs"),
            "fa-briefcase",
            "My area",
            {
                PARTNER_ROLE: "can_index|can_show|can_reply|can_decline|can_mark|can_note|can_access"
                "|can_leads|can_lead_review"
            },
        ),
    ),
    task_modules=(job_tasks,),
)
