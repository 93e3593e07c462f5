"""The Desk's outbox: every mail the system queued, its state, and the message itself.

Without an SMTP server (the embedded default) this is where staff read what the system
"sent": the text, the HTML part (served sandboxed) and the `.eml` file.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, request
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.actions import action
from flask_babel import lazy_gettext as _l

from .. import transaction
from ..datamodel import Interface
from ..extensions import db
from ..models import Language
from ..models.mail import MailStatus, OutboxMail
from ..services import mail as outbox
from ..tasks.mail import eml_bytes
from .mixins import label_of, local_datetime

OUTBOX_LABELS = {
    "id": _l("No."), "created_at": _l("Queued at"), "recipient": _l("Recipient"),
    "subject": _l("Subject"), "kind": _l("Kind"), "language": _l("Language"), "status": _l("Status"),
    "attempts": _l("Attempts"), "next_attempt_at": _l("Next attempt"), "sent_at": _l("Sent at"),
    "last_error": _l("Last error"), "message_id": _l("Message-ID"), "body_text": _l("Text"),
}

# What each kind of mail is, as staff read it in the outbox (the kind is the template's name).
MAIL_KINDS = {
    "conversation_digest": _l("Unread messages (hourly digest)"),
    "conversation_first_contact": _l("New conversation"),
    "customer_sign_in": _l("Customer sign-in link"),
    "debit_returned": _l("Direct debit returned"),
    "direct_request": _l("Direct request"),
    "job_lead": _l("New lead"),
    "job_new": _l("New job"),
    "job_reminder": _l("Job expires soon"),
    "job_review": _l("Job review request"),
    "partner_invoice": _l("Partner invoice"),
    "request_confirm": _l("Request confirmation"),
    "review_request": _l("Review request"),
    "service_order_delivered": _l("Order delivered"),
    "service_order_in_progress": _l("Order accepted"),
    "service_order_offer": _l("Custom offer"),
    "service_order_offer_accepted": _l("Offer accepted"),
    "service_order_offer_reminder": _l("Offer expires soon"),
    "service_order_placed": _l("New order"),
    "service_order_request": _l("Request to order"),
    "service_order_request_declined": _l("Request to order declined"),
    "service_order_request_reminder": _l("Request to order expires soon"),
    "team_invitation": _l("Team invitation"),
}


def mail_kind(kind: str | None) -> str:
    return str(MAIL_KINDS[kind]) if kind in MAIL_KINDS else (kind or "")


SANDBOX = "sandbox; default-src 'none'; style-src 'unsafe-inline'"


class OutboxView(ModelView):
    datamodel = Interface(OutboxMail)
    route_base = "/desk/outbox"
    list_title = _l("Outbox")
    show_title = _l("E-mail")
    base_permissions = ["can_list", "can_show", "can_eml", "can_html", "can_retry"]
    label_columns = OUTBOX_LABELS
    list_columns = ["id", "created_at", "recipient", "subject", "status", "attempts", "sent_at"]
    show_columns = ["id", "message_id", "created_at", "recipient", "language", "kind", "subject", "status",
                    "attempts", "next_attempt_at", "sent_at", "last_error", "body_text"]
    search_columns = ["recipient", "subject", "kind", "status", "created_at"]
    order_columns = ["id", "created_at", "recipient", "status", "sent_at"]
    base_order = ("id", "desc")
    show_template = "mail/outbox_show.html"
    formatters_columns = {"status": label_of(MailStatus), "kind": mail_kind, "language": label_of(Language),
                          "created_at": local_datetime,
                          "sent_at": local_datetime, "next_attempt_at": local_datetime}

    def _mail_or_404(self, pk: int) -> OutboxMail:
        mail = db.session.get(OutboxMail, pk)
        if mail is None:
            abort(404)
        return mail

    @expose("/eml/<int:pk>")
    @has_access
    def eml(self, pk):
        mail = self._mail_or_404(pk)
        return Response(eml_bytes(mail), mimetype="message/rfc822",
                        headers={"Content-Disposition": f'attachment; filename="mail-{mail.id}.eml"'})

    @expose("/html/<int:pk>")
    @has_access
    def html(self, pk):
        """The HTML part as the recipient's mail program would show it: no scripts, no forms."""
        mail = self._mail_or_404(pk)
        if not mail.body_html:
            abort(404)
        return Response(mail.body_html, mimetype="text/html", headers={"Content-Security-Policy": SANDBOX})

    @action("retry", _l("Send again now"), _l("Send the selected mails at the next run?"), "fa-refresh",
            single=False)
    def retry(self, items):
        items = items if isinstance(items, list) else [items]
        with transaction.unit_of_work(db.session):
            for item in items:
                outbox.retry_now(db.session, item.id)
        flash(str(_l("The mails are sent at the next run.")), "info")
        return redirect(request.referrer or self.get_redirect())
