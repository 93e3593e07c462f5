"""Downline pages: the partner's own (under /my/downline) and the Desk's (/desk/downline).

Thin: parse the request, call `downline.*`, render. Every node a page names is resolved by
`downline.navigator.node()` against the viewer's root: a partner's own address (404 for
anything outside its downline, including its own upline), or None for staff.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.security.decorators import permission_name
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import escape
from wtforms import IntegerField, TextAreaField
from wtforms.validators import DataRequired, InputRequired

from downline import drawing, explorer, export, moves, navigator, new_customers, stats, visibility
from downline import tasks as downline_tasks
from downline.sponsors import SponsorError

from .. import transaction
from ..extensions import db
from ..models import AddressType
from ..security import current_partner_address_id, logged_in_user
from ..services import address_search
from ..tasks import submit
from ..timezones import viewer_time_zone
from .mixins import local_datetime

LEVELS_DRAWN = 3
# Lazy labels: each page shows them in its UI language (a `str()` here froze them in English).
TYPE_LABELS = {t.value: AddressType.LABELS[t.value] for t in AddressType}


def cell(address, field: str, scope: str | None):
    value = visibility.value(address, field, scope)
    if field in ("registered_at", "first_order_at"):
        return local_datetime(value) if value else ""
    if field == "name":
        return address.name
    return "" if value is None else str(value)


def _int_arg(name: str, default: int | None = None) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else default


class _DownlineBase(BaseView):
    """Shared by both areas; `root_id()` is the viewer's top (None: staff, whole tree)."""

    staff = False

    def root_id(self) -> int | None:
        raise NotImplementedError

    def node_or_404(self, pk: int):
        try:
            return navigator.node(db.session, pk, self.root_id())
        except navigator.NotInDownline:
            abort(404)

    def scope_for(self, address) -> str | None:
        if self.staff:
            return None
        return "firstline" if address.id == self.root_id() else "deeper"

    # The routes both areas share; each area's class gives them its own permission names.
    @expose("/node/<int:pk>")
    @has_access
    def node(self, pk):
        return self._navigator(pk)

    @expose("/stats/<int:pk>")
    @has_access
    def stats(self, pk):
        return self._stats(pk)

    @expose("/tree/<int:pk>")
    @has_access
    def tree(self, pk):
        return self._tree(pk)

    @expose("/tree/<int:pk>/svg")
    @has_access
    def tree_svg(self, pk):
        return self._tree_svg(pk)

    @expose("/tree/<int:pk>/json")
    @has_access
    @permission_name("tree")
    def tree_json(self, pk):
        return self._tree_json(pk)

    @expose("/export/<int:pk>/<fmt>")
    @has_access
    def export(self, pk, fmt):
        return self._export(pk, fmt)

    def _navigator(self, pk: int):
        address = self.node_or_404(pk)
        scope = self.scope_for(address)
        fields = visibility.fields_for(db.session, scope)
        # One search box: the name filters the firstline and finds matches deeper down too.
        query = (request.args.get("name") or request.args.get("q") or "").strip()
        page = navigator.firstline(
            db.session, address, page=_int_arg("page", 0), sort=request.args.get("sort", "name"),
            desc=request.args.get("desc") == "1", type_=request.args.get("type") or None,
            name=query or None)
        found = ([a for a in navigator.search(db.session, address, query) if a.sponsor_id != address.id]
                 if query else [])
        return self.render_template(
            "downline/navigator.html", node=address, page=page, fields=fields,
            labels={**visibility.FIELDS, "name": _l("Name"), "type": _l("Type")},
            rows=[(m, [cell(m, f, scope) for f in fields]) for m in page.rows],
            crumbs=navigator.breadcrumb(db.session, address, self.root_id()),
            found=found, query=query, types=TYPE_LABELS, staff=self.staff, area=self.area_endpoint,
            args=request.args)

    def _stats(self, pk: int):
        address = self.node_or_404(pk)
        result = stats.per_level(db.session, address)
        return self.render_template("downline/stats.html", node=address, stats=result,
                                    types=TYPE_LABELS, chart=stats_chart(result), area=self.area_endpoint)

    def _tree(self, pk: int):
        """The explorer page: the browser draws the tree from `_tree_json` (no data inline)."""
        address = self.node_or_404(pk)
        return self.render_template("downline/tree.html", node=address, levels=LEVELS_DRAWN,
                                    types={t.value: str(t) for t in AddressType}, area=self.area_endpoint)

    def _tree_json(self, pk: int):
        """One branch for the explorer (`levels`, `offset` of the firstline page), or with `q`
        the names found in the node's downline; both inside the viewer's downline only."""
        address = self.node_or_404(pk)
        query = (request.args.get("q") or "").strip()
        if "q" in request.args:
            return jsonify({"found": explorer.find(db.session, address, query) if query else []})
        return jsonify(explorer.branch(db.session, address, levels=_int_arg("levels", 2),
                                       offset=_int_arg("offset", 0), root_id=self.root_id()))

    def _tree_svg(self, pk: int):
        address = self.node_or_404(pk)
        levels = max(1, min(_int_arg("levels", LEVELS_DRAWN), 10))
        svg = drawing.svg(drawing.subtree(db.session, address, levels=levels))
        return Response(svg, mimetype="image/svg+xml", headers={
            "Content-Disposition": f"attachment; filename=downline-{address.id}.svg"})

    def _export(self, pk: int, fmt: str, new_customer_list: bool = False):
        """Small lists download at once; big ones become a background task (its page, with a
        progress bar and the file at the end). `new_customer_list`: the new-customer navigator's
        list in its order (`sort`, `desc`) instead of the downline."""
        if fmt not in ("csv", "xlsx"):
            abort(404)
        address = self.node_or_404(pk)
        level = None if new_customer_list else _int_arg("level")
        listing = ({"sort": request.args.get("sort", "registered_at"),
                    "desc": request.args.get("desc", "1") == "1"} if new_customer_list else None)
        total = (new_customers.page(db.session, address)[0].total if new_customer_list
                 else address.downline_count)
        tz = viewer_time_zone()
        if total > current_app.config["DOWNLINE_EXPORT_INLINE_MAX"]:
            title = (_("Export of the new customers of %(name)s", name=address.name) if new_customer_list
                     else _("Export of the downline of %(name)s", name=address.name))
            task = submit(db.session, "downline.export",
                         {"address_id": address.id, "fmt": fmt, "level": level,
                          "viewer_root_id": self.root_id(), "tz": tz, "new_customers": listing,
                          "total": total},
                         user_id=logged_in_user().id, title=title)
            flash(_("The export of %(n)s addresses runs in the background; the file will be here.",
                    n=total), "info")
            return redirect(url_for("TasksView.show", pk=task.id))
        with transaction.unit_of_work() as session:
            if new_customer_list:
                data = new_customers.export_file(session, address, fmt, viewer_root_id=self.root_id(),
                                                 tz=ZoneInfo(tz), **listing)
            else:
                data = export.export(session, address, fmt, level=level, viewer_root_id=self.root_id(),
                                     tz=ZoneInfo(tz))
        name = downline_tasks.export_file_name(address.id, fmt, level, new_customer_list)
        return Response(data, mimetype=downline_tasks.MIMETYPES[fmt],
                        headers={"Content-Disposition": f"attachment; filename={name}"})


def stats_chart(result) -> str:
    """A stacked bar per level, as inline SVG (no JavaScript, no CDN), named and numbered in
    the UI language."""

    colours = {"partner": "#6aa84f", "customer": "#3d85c6", "new_customer": "#f1c232"}
    levels = result.levels
    if not levels:
        return ""
    top = max(entry["total"] for entry in levels) or 1
    bar, gap, height = 36, 14, 180
    width = len(levels) * (bar + gap) + 60
    title = escape(_("Addresses per level"))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 40}" '
             f'font-family="sans-serif" font-size="11" data-test="stats-chart" role="img" '
             f'aria-label="{title}"><title>{title}</title>']
    for i, entry in enumerate(levels):
        x, y = 40 + i * (bar + gap), height
        for type_ in ("partner", "customer", "new_customer"):
            h = entry[type_] / top * (height - 20)
            if h:
                y -= h
                parts.append(f'<rect x="{x}" y="{y:.1f}" width="{bar}" height="{h:.1f}" '
                             f'fill="{colours[type_]}"><title>{escape(TYPE_LABELS[type_])}: '
                             f'{format_decimal(entry[type_])}</title></rect>')
        middle = f'x="{x + bar / 2}" text-anchor="middle"'
        parts.append(f'<text {middle} y="{y - 4:.1f}">{format_decimal(entry["total"])}</text>')
        parts.append(f'<text {middle} y="{height + 16}">{entry["level"]}</text>')
    parts.append("</svg>")
    return "".join(parts)


class MyDownlineView(_DownlineBase):
    """The partner's downline: navigator, new customers, statistics, drawn tree, export."""

    route_base = "/my/downline"
    default_view = "index"
    area_endpoint = "MyDownlineView"

    def root_id(self) -> int | None:
        return current_partner_address_id()

    @expose("/")
    @has_access
    def index(self):
        return redirect(url_for(".node", pk=self.root_id()))

    @expose("/new-customers/")
    @has_access
    def new_customers(self):
        address = self.node_or_404(self.root_id())
        page, fields = new_customers.page(db.session, address, page=_int_arg("page", 0),
                                          sort=request.args.get("sort", "registered_at"),
                                          desc=request.args.get("desc", "1") == "1",
                                          name=request.args.get("name") or None)
        return self.render_template(
            "downline/new_customers.html", node=address, page=page, fields=fields,
            labels={**visibility.FIELDS, "name": _l("Name"), "type": _l("Type")},
            sort_keys=new_customers.SORT_KEYS,
            rows=[(m, [cell(m, f, "new_customers") for f in fields]) for m in page.rows], args=request.args)

    @expose("/new-customers/export/<fmt>")
    @has_access
    @permission_name("new_customers")
    def new_customers_export(self, fmt):
        return self._export(self.root_id(), fmt, new_customer_list=True)



class MoveForm(FlaskForm):
    address_id = IntegerField(_l("Address no."), validators=[InputRequired()])
    new_sponsor_id = IntegerField(_l("New sponsor (address no.)"), validators=[InputRequired()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired()])


class DeskDownlineView(_DownlineBase):
    """Staff: the whole tree from any address (upline shown), moves, visibility settings."""

    route_base = "/desk/downline"
    default_view = "start"
    staff = True
    area_endpoint = "DeskDownlineView"

    def root_id(self) -> int | None:
        return None

    @expose("/")
    @has_access
    def start(self):
        """Start at a number, a name (the matches to choose from) or one of the tree's roots."""
        query = (request.args.get("address") or "").strip()
        matches = address_search.by_name(db.session, query) if query else []
        if len(matches) == 1:
            return redirect(url_for(".node", pk=matches[0].id))
        return self.render_template("downline/desk_start.html", query=query, matches=matches,
                                    roots=address_search.roots(db.session), number=format_decimal)

    @expose("/move", methods=["GET", "POST"])
    @has_access
    def move(self):
        form = MoveForm()
        if request.method == "GET" and _int_arg("address") is not None:
            form.address_id.data = _int_arg("address")
        if form.validate_on_submit():
            address_id, sponsor_id, reason = (form.address_id.data, form.new_sponsor_id.data,
                                              form.reason.data)
            try:
                result = transaction.run(
                    lambda session: moves.move(session, address_id, sponsor_id, reason), retries=2)
            except SponsorError as exc:
                form.new_sponsor_id.errors = [*form.new_sponsor_id.errors, exc.message]
            else:
                flash(_("Moved address %(id)s with %(n)s addresses in its downline.",
                        id=result.address_id, n=result.moved - 1), "success")
                return redirect(url_for(".node", pk=result.new_sponsor_id))
        return self.render_template("downline/move.html", form=form)

    @expose("/bulk-move")
    @has_access
    def bulk_move(self):
        """Moves from a file are an import (check first, all or nothing, in the background)."""
        return redirect(url_for("ImportsView.index", kind="sponsor_moves"))

    @expose("/visibility", methods=["GET", "POST"])
    @has_access
    def visibility(self):
        form = FlaskForm()
        if form.validate_on_submit():
            chosen = {scope: {f for f in visibility.FIELDS if request.form.get(f"{scope}:{f}")}
                      for scope in visibility.SCOPES}
            with transaction.unit_of_work() as session:
                visibility.save(session, chosen)
            flash(_("Visibility saved."), "success")
            return redirect(url_for(".visibility"))
        return self.render_template("downline/visibility.html", form=form, scopes=visibility.SCOPES,
                                    fields=visibility.FIELDS, shown=visibility.settings(db.session),
                                    allowed=visibility.allowed, always=visibility.ALWAYS)
