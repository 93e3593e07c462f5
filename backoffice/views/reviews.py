"""Staff hide a partner's review with a reason: a direct request's (`ReviewView`) or an expert
job's (`JobReviewView`). A hidden review leaves the public profile and the partner's rating;
the change goes to the audit trail of the partner's address with who, when and the reason."""

from __future__ import annotations

from flask import g
from flask_appbuilder import ModelView
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField

from ..errors import InvalidInput
from .mixins import local_datetime, yes_no


class ReviewHidingView(ModelView):
    base_permissions = ["can_list", "can_show", "can_edit"]
    label_columns = {"id": _l("No."), "created_at": _l("Created"), "partner_id": _l("Partner"),
                     "stars": _l("Stars"), "text": _l("Text"), "author_name": _l("Author"),
                     "hidden": _l("Hidden"), "hidden_reason": _l("Reason for hiding")}
    list_columns = ["id", "created_at", "partner_id", "stars", "author_name", "hidden"]
    show_columns = ["created_at", "partner_id", "stars", "text", "author_name", "hidden", "hidden_reason"]
    edit_columns = ["hidden", "hidden_reason"]
    # FAB makes a NOT NULL column's checkbox required: unticked, staff could not show a review again.
    edit_form_extra_fields = {"hidden": BooleanField(_l("Hidden"))}
    formatters_columns = {"created_at": local_datetime, "hidden": yes_no}
    base_order = ("id", "desc")

    def pre_update(self, item):
        if item.hidden and not (item.hidden_reason or "").strip():
            raise InvalidInput("reason_needed", _("Give a reason for hiding the review."),
                               fields={"hidden_reason": [_("Give a reason for hiding the review.")]})
        g.audit_reason = item.hidden_reason.strip() if item.hidden else None
