"""Personal data of one address (GDPR): staff download everything stored about it (JSON and
Excel) and erase it, saying why. The rules are in `backoffice.services.privacy`."""

from __future__ import annotations

from flask import Response, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _

from .. import transaction
from ..errors import DomainError
from ..extensions import db
from ..security import logged_in_user
from ..services import privacy

FORMATS = {"json": ("application/json", privacy.as_json),
           "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", privacy.as_xlsx)}


class PrivacyView(BaseView):
    route_base = "/desk/privacy"
    default_view = "start"

    @expose("/")
    @has_access
    def start(self):
        pk = request.args.get("address", "")
        if pk.isdigit() and len(pk) < 10:
            return redirect(url_for(".address", pk=int(pk)))
        return self.render_template("partnerdesk/privacy.html", data=None, pk=None)

    @expose("/<int:pk>")
    @has_access
    def address(self, pk):
        data = privacy.personal_data(db.session, pk)
        transaction.discard()
        return self.render_template("partnerdesk/privacy.html", data=data, pk=pk)

    @expose("/<int:pk>/export/<fmt>")
    @has_access
    def export(self, pk, fmt):
        if fmt not in FORMATS:
            return Response(_("Unknown export format."), status=404)
        mimetype, write = FORMATS[fmt]
        body = write(privacy.personal_data(db.session, pk))
        transaction.discard()
        return Response(body, mimetype=mimetype, headers={
            "Content-Disposition": f'attachment; filename="personal-data-{pk}.{fmt}"'})

    @expose("/<int:pk>/erase", methods=["POST"])
    @has_access
    def erase(self, pk):
        user = logged_in_user()
        try:
            with transaction.unit_of_work() as session:
                privacy.erase(session, pk, reason=request.form.get("reason", ""),
                              actor_user_id=user.id, actor_label=user.username)
        except DomainError as exc:
            messages = [m for msgs in (exc.fields or {}).values() for m in msgs] or [exc.message]
            for message in messages:
                flash(message, "danger")
        else:
            flash(_("The personal data of address %(pk)s has been erased.", pk=pk), "success")
        return redirect(url_for(".address", pk=pk))
