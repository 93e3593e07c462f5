"""Desk pages for CSV imports (I5): upload, dry-run report, import, history, templates.

Thin: the checking and writing live in `imports/`; an upload becomes a background task
(`imports.run`), so even a million-row file never ties up a web worker.
"""

from __future__ import annotations

from pathlib import Path

from flask import Response, abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.security.sqla.models import User
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from sqlalchemy import func, select

from imports.kinds import KINDS
from imports.report import errors_file
from imports.runner import kind_of, preview
from imports.runs import again, mapping_of, new_run, store_upload
from reports.tabular import write_csv

from .. import transaction
from ..errors import InvalidInput
from ..extensions import db
from ..local_values import language
from ..models import ImportRun, ImportStatus
from ..security import logged_in_user
from ..tasks import submit
from .localized import file_name
from .mixins import local_datetime

KIND_LABELS = {
    "addresses": _l("Addresses (with sponsors)"),
    "partners": _l("Partners"),
    "articles": _l("Articles"),
    "vouchers": _l("Vouchers"),
    "voucher_codes": _l("Voucher codes"),
    "sponsor_moves": _l("Sponsor moves"),
}
PAGE_SIZE = 50
SHOWN_ERRORS = 200
MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def start(record: ImportRun, title: str) -> int:
    """Hand a logged run to the background worker; returns the task id."""
    user = logged_in_user()
    task = submit(db.session, "imports.run", {"import_id": record.id}, user_id=user.id, title=title)
    record.task_id = task.id
    transaction.keep()
    return task.id


class ImportsView(BaseView):
    route_base = "/imports"
    default_view = "index"
    base_permissions = ["can_list", "can_show", "can_add"]
    method_permission_name = {"index": "list", "template": "list", "show": "show", "errors": "show",
                              "upload": "add", "commit": "add", "remap": "add"}

    @expose("/")
    @has_access
    def index(self):
        page = max(request.args.get("page", 0, type=int), 0)
        total = db.session.execute(select(func.count(ImportRun.id))).scalar()
        runs = db.session.execute(select(ImportRun).order_by(ImportRun.id.desc())
                                  .offset(page * PAGE_SIZE).limit(PAGE_SIZE)).scalars().all()
        mapped = db.session.execute(select(ImportRun).where(ImportRun.columns_json.like('%"requested": {%'))
                                    .order_by(ImportRun.id.desc()).limit(20)).scalars().all()
        return self.render_template("imports/index.html", runs=runs, kinds=KIND_LABELS, page=page,
                                    pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), csrf=generate_csrf(),
                                    when=local_datetime, users=_user_names(runs),
                                    chosen=request.args.get("kind", ""), mapped=mapped)

    @expose("/upload", methods=["POST"])
    @has_access
    def upload(self):
        kind = request.form.get("kind", "")
        upload = request.files.get("file")
        if kind not in KINDS:
            flash(_("Please choose what the file contains."), "danger")
            return redirect(url_for("ImportsView.index"))
        if upload is None or not upload.filename:
            flash(_("Please choose a file."), "danger")
            return redirect(url_for("ImportsView.index"))
        try:
            mapping = mapping_of(db.session, request.form.get("mapping_from", type=int), kind)
        except InvalidInput as exc:
            flash(exc.message, "danger")
            return redirect(url_for("ImportsView.index"))
        path, size = store_upload(upload.stream, upload.filename)
        if size == 0:
            Path(path).unlink(missing_ok=True)
            flash(_("The file is empty."), "danger")
            return redirect(url_for("ImportsView.index"))
        user = logged_in_user()
        record = new_run(db.session, kind, path, upload.filename, dry_run=True, source="desk",
                         user_id=user.id, actor=user.username, mapping=mapping)
        task_id = start(record, _("Check %(file)s", file=upload.filename))
        flash(_("The file is being checked; nothing is imported yet."), "info")
        return redirect(url_for("TasksView.show", pk=task_id))

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        record = db.session.get(ImportRun, pk) or abort(404)
        look = preview(record.kind, record.file_path, mapping=record.columns.get("requested")) \
            if Path(record.file_path or "").exists() else {}
        return self.render_template("imports/show.html", run=record, look=look, kinds=KIND_LABELS,
                                    names=field_names(record.kind),
                                    errors=record.errors[:SHOWN_ERRORS], csrf=generate_csrf(),
                                    when=local_datetime,
                                    running=record.status in (ImportStatus.uploaded, ImportStatus.running),
                                    users=_user_names([record]))

    @expose("/<int:pk>/commit", methods=["POST"])
    @has_access
    def commit(self, pk):
        record = db.session.get(ImportRun, pk) or abort(404)
        if not (record.dry_run and record.status == ImportStatus.checked and Path(record.file_path).exists()):
            flash(_("Only a file whose check found no errors can be imported."), "danger")
            return redirect(url_for("ImportsView.show", pk=pk))
        user = logged_in_user()
        follow = again(db.session, record, dry_run=False, user_id=user.id, actor=user.username)
        task_id = start(follow, _("Import %(file)s", file=record.file_name))
        flash(_("The import runs in the background."), "info")
        return redirect(url_for("TasksView.show", pk=task_id))

    @expose("/<int:pk>/remap", methods=["POST"])
    @has_access
    def remap(self, pk):
        """Check the same file again with the columns mapped by hand (pre-filled from the header)."""
        record = db.session.get(ImportRun, pk) or abort(404)
        look = preview(record.kind, record.file_path) if Path(record.file_path or "").exists() else {}
        if not look.get("header"):
            flash(_("The file is no longer there; please upload it again."), "danger")
            return redirect(url_for("ImportsView.show", pk=pk))
        mapping = {column: request.form.get(f"map-{i}", "") for i, column in enumerate(look["header"])}
        user = logged_in_user()
        follow = new_run(db.session, record.kind, Path(record.file_path), record.file_name, dry_run=True,
                         source="desk", user_id=user.id, actor=user.username, mapping=mapping)
        task_id = start(follow, _("Check %(file)s", file=record.file_name))
        flash(_("The file is being checked with your column mapping; nothing is imported yet."), "info")
        return redirect(url_for("TasksView.show", pk=task_id))

    @expose("/<int:pk>/errors.<fmt>")
    @has_access
    def errors(self, pk, fmt):
        record = db.session.get(ImportRun, pk) or abort(404)
        if fmt not in MIMETYPES:
            abort(404)
        body = errors_file(record.errors, fmt)
        return Response(body, mimetype=MIMETYPES[fmt], headers={
            "Content-Disposition": f'attachment; filename="import-{pk}-errors.{fmt}"'})

    @expose("/templates/<kind>.csv")
    @has_access
    def template(self, kind):
        if kind not in KINDS:
            abort(404)
        header, example = kind_of(kind).template()
        if language() == "de":  # the German header names, which the import reads as well
            header = list(field_names(kind).values())
        name = file_name(f"{_('Template')} {KIND_LABELS[kind]}")
        # A template is no export: its example values (a phone number starting with "+") are
        # written as they are, without the formula guard an import would have to take off.
        return Response(write_csv(header, [example], prepared=True), mimetype=MIMETYPES["csv"], headers={
            "Content-Disposition": f'attachment; filename="{name}.csv"'})


def field_names(kind: str) -> dict[str, str]:
    """Each field of a kind as its template names it in the UI language: German pages and
    templates say "MwSt", English ones the field's own name (`vat_rate`)."""
    fields = kind_of(kind).fields if kind in KINDS else []
    german = language() == "de"
    return {f.name: f.aliases[0] if german and f.aliases else f.name for f in fields}


def _user_names(runs) -> dict[int, str]:

    ids = {r.user_id for r in runs if r.user_id}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())
