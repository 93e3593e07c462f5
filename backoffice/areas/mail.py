"""Mail: the outbox that every e-mail passes through, its sender task and the Desk page."""

from flask_babel import lazy_gettext as _l

from ..security import STAFF
from ..tasks import mail as mail_tasks
from ..views.mail import OutboxView
from . import READ, Area, Page

AREA = Area(
    name="mail",
    order=85,
    pages=(Page(OutboxView, "Outbox", _l("Outbox"), "fa-envelope", "Desk",
                {STAFF: READ + "|can_eml|can_html|can_retry|retry|can_action|can_action_post"}),),
    task_modules=(mail_tasks,),
    setup=mail_tasks.init_app,
)
