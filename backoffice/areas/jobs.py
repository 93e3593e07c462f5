"""Expert jobs (J1–J7): the partner's jobs and leads, the customer's job pages in the portal,
the staff's page to hide a job review, and the sweep that expires unanswered jobs and sends
reminders."""

from flask_babel import lazy_gettext as _l

from ..security import PARTNER_ROLE, STAFF
from ..tasks import jobs as job_tasks
from ..views import jobs_portal  # noqa: F401 - adds the job pages to the portal
from ..views.jobs import JobReviewView, MyJobsView
from . import ALL, Area, Page

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
        Page(JobReviewView, "Job reviews", _l("Job reviews"), "fa-star", "Desk", {STAFF: ALL}),
    ),
    task_modules=(job_tasks,),
)
