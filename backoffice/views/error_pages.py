"""The Desk's error pages (403, 404, 405, 500): in the Desk's frame, in the UI language, each
saying what happened and what to do next. API paths keep their JSON answers."""

from __future__ import annotations

from flask import current_app, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import HTTPException

PAGES = {
    403: (_l("Not for your role"),
          _l("Your login may not open this page. If you need it for your work, ask an "
             "administrator to extend your role.")),
    404: (_l("Page not found"),
          _l("There is no such page or record, or it is not one your login may see. Check the "
             "address, or go back and choose it from the menu or a list.")),
    405: (_l("Not possible this way"),
          _l("This page cannot be used like this. Go back and use the page's buttons.")),
    500: (_l("Something went wrong"),
          _l("The Desk could not finish this request; nothing was saved. Try again in a moment; "
             "if it happens again, tell the support team the time and what you did.")),
}


def error_page(exc: HTTPException):
    code = exc.code if exc.code in PAGES else 500
    title, advice = PAGES[code]
    back = request.referrer if request.referrer and request.host in request.referrer else None
    appbuilder = current_app.appbuilder
    if "user" not in g:  # refused before FAB's own hook set it (the input guard runs first)
        g.user = current_user
    return render_template("partnerdesk/error.html", code=code, title=title, advice=advice, back=back,
                           base_template=appbuilder.base_template, appbuilder=appbuilder), code

