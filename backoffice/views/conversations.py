"""The partner's conversations (`/my/conversations`): list with unread markers, filters and
search; a conversation with its messages, files, reply, tags, decline, block and report; the
team's tags. Staff read reported conversations only (`/desk/reported-conversations`), and
every read is logged."""

from __future__ import annotations

from flask import abort, flash, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _

from .. import transaction
from ..errors import DomainError
from ..extensions import db
from ..models import Party
from ..security import current_partner_id, current_user_id
from ..services import conversation_inbox as inbox
from ..services import conversation_tags as tags
from ..services import conversations, message_files
from ..services.message_files import Upload
from .mixins import local_datetime


def uploads() -> list[Upload]:
    """The files of the form's `files` field (empty file inputs left out)."""
    return [Upload(f.filename or "", f.read()) for f in request.files.getlist("files") if f and f.filename]


def file_answer(row, path):
    return send_file(path, mimetype=row.content_type, as_attachment=True, download_name=row.file_name)


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


class MyConversationsView(BaseView):
    route_base = "/my/conversations"
    default_view = "index"

    def _conversation(self, pk: int):
        try:
            return conversations.conversation_of(db.session, pk, partner_id=current_partner_id())
        except DomainError:
            abort(404)

    def _back(self, pk: int):
        return redirect(url_for(".show", pk=pk))

    @expose("/")
    @has_access
    def index(self):
        partner_id, user_id = current_partner_id(), current_user_id()
        tag_id, unread, search = _int_arg("tag"), request.args.get("unread") == "1", request.args.get("q", "")
        page = max(_int_arg("page") or 1, 1)
        rows = inbox.conversations(
            db.session,
            partner_id,
            user_id,
            tag_id=tag_id,
            unread=unread,
            search=search[:200],
            limit=inbox.PAGE + 1,
            offset=(page - 1) * inbox.PAGE,
        )
        team_tags = tags.tags_of(db.session, partner_id)
        transaction.discard(db.session)
        return self.render_template(
            "conversations/index.html",
            rows=rows[: inbox.PAGE],
            more=len(rows) > inbox.PAGE,
            page=page,
            tags=team_tags,
            tag_id=tag_id,
            unread=unread,
            q=search,
            when=local_datetime,
        )

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        conversation = self._conversation(pk)
        with transaction.unit_of_work(db.session):
            conversations.mark_read(db.session, pk, current_user_id())
        conversation = self._conversation(pk)
        return self.render_template(
            "conversations/show.html",
            conversation=conversation,
            messages=conversation.messages,
            tags=tags.tags_on(db.session, pk),
            team_tags=tags.tags_of(db.session, current_partner_id()),
            blocked=conversations.is_blocked(db.session, conversation.partner_id, conversation.customer_id),
            file_endpoint="MyConversationsView.message_file", when=local_datetime,
        )

    def _act(self, pk: int, work, done: str, target=None):
        """Run `work(conversation)` in a unit of work; flash `done` or the refusal, go back."""
        conversation = self._conversation(pk)
        try:
            with transaction.guarded(db.session):
                work(conversation)
        except DomainError as exc:
            flash(_first(exc), "danger")
        else:
            flash(done, "success")
        return target or self._back(pk)

    @expose("/<int:pk>/reply", methods=["POST"])
    @has_access
    def reply(self, pk):
        body, files = request.form.get("body", ""), uploads()
        return self._act(pk, lambda c: conversations.post_message(
            db.session, c, Party.partner, body, author_user_id=current_user_id(), files=files),
            _("Your message was sent."))

    @expose("/<int:pk>/decline", methods=["POST"])
    @has_access
    def decline(self, pk):
        reason = request.form.get("reason", "")
        return self._act(pk, lambda c: conversations.decline_conversation(
            db.session, c, Party.partner, reason, author_user_id=current_user_id()),
            _("The conversation was declined; the customer was told why."))

    @expose("/<int:pk>/block", methods=["POST"])
    @has_access
    def block(self, pk):
        if request.form.get("confirm") != "1":
            self._conversation(pk)
            flash(_("Confirm that the customer is blocked for good."), "danger")
            return self._back(pk)
        reason = request.form.get("reason", "")
        return self._act(pk, lambda c: conversations.block_customer(
            db.session, c.partner_id, c.customer_id, user_id=current_user_id(), reason=reason),
            _("The customer is blocked and can no longer write to you."))

    @expose("/<int:pk>/report", methods=["POST"])
    @has_access
    def report(self, pk):
        reason = request.form.get("reason", "")
        return self._act(pk, lambda c: conversations.report_conversation(
            db.session, c, Party.partner, reason, user_id=current_user_id()),
            _("Thank you; staff will look at this conversation."))

    @expose("/<int:pk>/tags", methods=["POST"])
    @has_access
    def apply_tags(self, pk):
        ids = [int(v) for v in request.form.getlist("tag_id") if v.isdigit() and len(v) < 10]
        with transaction.unit_of_work(db.session):
            tags.apply_tags(db.session, current_partner_id(), self._conversation(pk).id, ids)
        return self._back(pk)

    @expose("/<int:pk>/tags/<int:tag_id>/remove", methods=["POST"])
    @has_access
    def remove_tag(self, pk, tag_id):
        with transaction.unit_of_work(db.session):
            tags.remove_tag(db.session, current_partner_id(), self._conversation(pk).id, tag_id)
        return self._back(pk)

    @expose("/tags", methods=["GET", "POST"])
    @has_access
    def team_tags(self):
        errors = {}
        if request.method == "POST":
            try:
                with transaction.guarded(db.session):
                    tags.create_tag(db.session, current_partner_id(), request.form.get("name", ""))
            except DomainError as exc:
                errors = exc.fields or {"name": [exc.message]}
            else:
                flash(_("The tag was created."), "success")
                return redirect(url_for(".team_tags"))
        return self.render_template(
            "conversations/tags.html",
            tags=tags.tags_of(db.session, current_partner_id()),
            errors=errors,
            values=request.form,
        )

    @expose("/tags/<int:tag_id>/rename", methods=["POST"])
    @has_access
    def rename_tag(self, tag_id):
        try:
            with transaction.guarded(db.session):
                tags.rename_tag(db.session, current_partner_id(), tag_id, request.form.get("name", ""))
        except DomainError as exc:
            flash(_first(exc), "danger")
        else:
            flash(_("The tag was renamed on every conversation."), "success")
        return redirect(url_for(".team_tags"))

    @expose("/tags/<int:tag_id>/delete", methods=["POST"])
    @has_access
    def delete_tag(self, tag_id):
        if request.form.get("confirm") != "1":
            flash(_("Confirm the deletion."), "danger")
            return redirect(url_for(".team_tags"))
        with transaction.unit_of_work(db.session):
            removed = tags.delete_tag(db.session, current_partner_id(), tag_id)
        flash(_("The tag was deleted and removed from %(n)s conversations.", n=removed), "success")
        return redirect(url_for(".team_tags"))

    @expose("/files/<int:file_id>")
    @has_access
    def message_file(self, file_id):
        try:
            row, path = message_files.file_for(db.session, file_id, partner_id=current_partner_id())
        except DomainError:
            abort(404)
        return file_answer(row, path)


def _first(exc: DomainError) -> str:
    fields = exc.fields or {}
    return next((messages[0] for messages in fields.values() if messages), exc.message)


class ReportedConversationsView(BaseView):
    """Staff: conversations a party reported, readable only because of the report; each read
    is logged with the staff member."""

    route_base = "/desk/reported-conversations"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        rows = conversations.reported_conversations(db.session)
        return self.render_template("conversations/reported.html", rows=rows, when=local_datetime)

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        try:
            with transaction.unit_of_work(db.session):
                conversation, reports = conversations.read_as_staff(db.session, pk, current_user_id())
        except DomainError:
            abort(404)
        return self.render_template(
            "conversations/staff_show.html",
            conversation=conversation,
            messages=conversation.messages,
            reports=reports,
            file_endpoint=None,
            when=local_datetime,
        )
