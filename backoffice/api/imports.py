"""REST endpoint for the same imports as the Desk and the CLI (I5): multipart upload, JSON report.

Files up to IMPORT_INLINE_MAX_BYTES are checked or imported at once (200 when clean, 422
with the row-level report otherwise); bigger files become a background task (202) whose
outcome `GET /api/v1/imports/<id>` reports.
"""

from __future__ import annotations

from flask import current_app, request
from flask_appbuilder.api import expose
from flask_appbuilder.security.decorators import protect
from flask_babel import gettext as _

from imports.kinds import KINDS
from imports.runs import execute, mapping_of, new_run, parse_mapping, store_upload

from .. import transaction
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..models import ImportRun, ImportStatus
from ..security import logged_in_user
from ..tasks import submit
from .base import JsonErrorApi

FALSE = {"0", "false", "no", "nein"}


class ImportApi(JsonErrorApi):
    resource_name = "imports"
    class_permission_name = "ImportApi"
    # Tokens only: a browser session would need a CSRF token an API client does not send,
    # and without one any page could import with a logged-in staff member's cookie.
    allow_browser_login = False
    method_permission_name = {"upload": "post", "status": "get"}
    openapi_spec_tag = "Imports"

    @expose("/<kind>", methods=["POST"])
    @protect()
    def upload(self, kind):
        """Check or import a CSV file.
        ---
        post:
          summary: Check (default) or import a CSV file of one kind
          parameters:
          - in: path
            name: kind
            required: true
            schema:
              type: string
              enum: [addresses, partners, articles, vouchers, voucher_codes, sponsor_moves]
          requestBody:
            content:
              multipart/form-data:
                schema:
                  type: object
                  properties:
                    file: {type: string, format: binary}
                    dry_run: {type: string, description: "true (default): only check; false: import"}
                    mapping:
                      type: string
                      description: >-
                        JSON object file column → field ("" ignores the column); columns not
                        named are matched by their header names
                    mapping_from:
                      type: integer
                      description: Use the mapping of this earlier import of the same kind
          responses:
            200: {description: The report; the file was clean (and imported unless dry_run)}
            202: {description: Large file; the import runs as a task, see the status URL}
            422:
              description: >-
                The file has errors (`error` invalid_rows, the row-level report in `errors`);
                nothing written
        """
        if kind not in KINDS:
            raise NotFound("unknown_kind", _("Unknown import kind; known: %(kinds)s.",
                                             kinds=", ".join(KINDS)))
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise InvalidInput("no_file", _("Send the file as multipart form field 'file'."))
        dry_run = str(request.form.get("dry_run", "true")).strip().lower() not in FALSE
        mapping = parse_mapping(request.form.get("mapping")) or mapping_of(
            db.session, request.form.get("mapping_from", type=int), kind)
        path, size = store_upload(upload.stream, upload.filename)
        if size == 0:
            raise InvalidInput("empty_file", _("The file is empty."))
        user = logged_in_user()
        record = new_run(db.session, kind, path, upload.filename, dry_run=dry_run, source="api",
                         user_id=user.id, actor=user.username, mapping=mapping)
        if size > current_app.config["IMPORT_INLINE_MAX_BYTES"]:
            task = submit(db.session, "imports.run", {"import_id": record.id}, user_id=user.id,
                         title=f"API {kind} {upload.filename}")
            record.task_id = task.id
            transaction.keep()
            return self.response(202, id=record.id, task_id=task.id, status="queued",
                                 status_url=f"/api/v1/imports/{record.id}")
        report = execute(db.session, record.id)
        if report.ok:
            return self.response(200, id=record.id, **report.as_dict())
        # Refused: the one error shape, with the row-level report beside it.
        return self.response(422, error="invalid_rows", message=report.problem or _(
            "The file has errors; nothing was written."), id=record.id, **report.as_dict())

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    def status(self, pk):
        """Outcome of an import.
        ---
        get:
          summary: Status and report of an import
          parameters:
          - in: path
            name: pk
            required: true
            schema: {type: integer}
          responses:
            200: {description: Status, counts and the first errors}
        """
        record = db.session.get(ImportRun, pk)
        if record is None:
            raise NotFound("not_found", _("No such import."))
        return self.response(200, id=record.id, kind=record.kind, file_name=record.file_name,
                             dry_run=record.dry_run, status=record.status.value,
                             finished=record.status not in (ImportStatus.uploaded, ImportStatus.running),
                             rows=record.rows_total, created=record.created, updated=record.updated,
                             unchanged=record.unchanged, rejected=record.rejected,
                             error_count=record.error_count, problem=record.message,
                             errors=[dict(zip(("line", "column", "value", "message"), e, strict=True))
                                     for e in record.errors])
