"""The partner's public profile, services and packages (partner area), and the Desk's pages
for categories and for published profiles (staff unpublish with a reason).

The partner pages take the partner from the logged-in user (`security.current_partner_id`)
and pass only that id to the services, which look every service up together with it.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, ModelView, expose, has_access
from flask_appbuilder.models.filters import BaseFilter
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf

from .. import transaction
from ..datamodel import Interface
from ..errors import DomainError, RuleViolations
from ..extensions import db
from ..models import Category, PartnerProfile
from ..security import NO_PARTNER, current_partner_id
from ..services import profiles
from ..services.categories import category_choices
from .mixins import RulesMixin, local_datetime, yes_no

CATEGORY_LABELS = {"name_de": _l("Name (German)"), "name_en": _l("Name (English)"),
                   "parent": _l("Top category"), "active": _l("Active"), "position": _l("Position"),
                   "created_at": _l("Created at"), "updated_at": _l("Updated at"),
                   "min_bid": _l("Minimum bid per request (net)")}


class _TopCategories(BaseFilter):
    """The parent dropdown offers top categories only: the list has two levels."""

    name = _l("Top category")

    def apply(self, query, value):
        return query.filter(Category.parent_id.is_(None))


class CategoryView(RulesMixin, ModelView):
    """Staff keep the list of categories: two levels, German and English names."""

    datamodel = Interface(Category)
    route_base = "/desk/categories"
    list_title = _l("Categories")
    show_title = _l("Category")
    add_title = _l("New category")
    edit_title = _l("Edit category")
    label_columns = CATEGORY_LABELS
    list_columns = ["name_de", "name_en", "parent", "active", "position", "min_bid"]
    show_columns = [*list_columns, "created_at", "updated_at"]
    add_columns = ["name_de", "name_en", "parent", "active", "position"]  # the minimum bid: its default
    edit_columns = list_columns
    search_columns = ["name_de", "name_en", "active"]
    order_columns = ["name_de", "name_en", "position"]
    formatters_columns = {"active": yes_no, "created_at": local_datetime, "updated_at": local_datetime}
    add_form_query_rel_fields = {"parent": [["parent_id", _TopCategories, None]]}
    edit_form_query_rel_fields = add_form_query_rel_fields
    base_order = ("name_de", "asc")


class PublicProfileView(ModelView):
    """Staff see every public profile and take one out of the directory, with a reason."""

    datamodel = Interface(PartnerProfile)
    route_base = "/desk/public-profiles"
    list_title = _l("Public profiles")
    show_title = _l("Public profile")
    base_permissions = ["can_list", "can_show", "can_unpublish"]
    label_columns = {"display_name": _l("Display name"), "partner": _l("Partner"),
                     "postal_code": _l("Postal code"), "radius_km": _l("Radius (km)"),
                     "germany_wide": _l("Germany-wide"), "languages": _l("Languages"),
                     "published": _l("Published"), "published_at": _l("Published at"),
                     "unpublished_reason": _l("Reason for unpublishing"), "listed": _l("Listed"),
                     "updated_at": _l("Updated at")}
    list_columns = ["display_name", "partner", "postal_code", "germany_wide", "published", "listed",
                    "unpublished_reason"]
    show_columns = ["display_name", "partner", "postal_code", "radius_km", "germany_wide", "languages",
                    "published", "published_at", "unpublished_reason", "listed", "updated_at"]
    search_columns = ["display_name", "postal_code", "published"]
    order_columns = ["display_name", "postal_code", "published"]
    formatters_columns = {"published": yes_no, "germany_wide": yes_no, "listed": yes_no,
                          "published_at": local_datetime, "updated_at": local_datetime}
    base_order = ("display_name", "asc")
    show_template = "profiles/desk_show.html"

    @expose("/unpublish/<int:pk>", methods=["POST"])
    @has_access
    def unpublish(self, pk):
        try:
            with transaction.unit_of_work() as session:
                profiles.unpublish(session, pk, request.form.get("reason", ""))
            flash(_("The profile is no longer published."), "success")
        except DomainError as exc:
            for messages in (exc.fields or {}).values():
                for message in messages:
                    flash(message, "danger")
            if not exc.fields:
                flash(exc.message, "danger")
        return redirect(url_for(".show", pk=pk))


def _partner_id() -> int:
    partner_id = current_partner_id()
    if partner_id == NO_PARTNER:
        abort(404)
    return partner_id


def _locale() -> str:
    return str(get_locale() or "de")


class MyPublicProfileView(BaseView):
    """The partner's own public profile, job preferences and services with packages."""

    route_base = "/my/public-profile"
    default_view = "edit"

    def _render_profile(self, profile, errors=None, values=None):
        return self.render_template(
            "profiles/my_profile.html", profile=profile, partner=profile.partner, errors=errors or {},
            values=values, languages=profiles.language_choices(_locale()),
            services=profiles.services_of(db.session, profile.partner_id), csrf=generate_csrf(),
            notification_default=profiles.notification_email(profile.partner), locale=_locale(),
            title=_("My public profile"))

    @expose("/", methods=["GET", "POST"])
    @has_access
    def edit(self):
        partner_id = _partner_id()
        if request.method == "GET":
            return self._render_profile(profiles.profile_of(db.session, partner_id))
        values = request.form.to_dict()
        values["languages"] = request.form.getlist("languages")
        upload = request.files.get("picture")
        try:
            with transaction.unit_of_work() as session:
                picture = None
                if upload is not None and upload.filename:
                    picture = profiles.store_picture(upload.read(), current_app.config["UPLOAD_FOLDER"])
                profiles.save_profile(session, partner_id, values, picture=picture)
            flash(_("Your public profile is saved."), "success")
            return redirect(url_for(".edit"))
        except RuleViolations as exc:
            flash(exc.message, "danger")
            return self._render_profile(profiles.profile_of(db.session, partner_id), exc.errors, values), 422

    def _render_service(self, service, errors=None, values=None, packages=None):
        rows = packages if packages is not None else [
            {"name": p.name, "description": p.description or "", "price": p.price,
             "delivery_days": p.delivery_days} for p in (service.packages if service is not None else [])]
        rows = rows + [{}] * (profiles.MAX_PACKAGES - len(rows))
        return self.render_template(
            "profiles/my_service.html", service=service, errors=errors or {}, values=values,
            packages=rows, categories=category_choices(db.session, _locale()), csrf=generate_csrf(),
            title=_("Edit service") if service is not None else _("New service"))

    def _save_service(self, service_id):
        partner_id = _partner_id()
        values = request.form.to_dict()
        packages = [profiles.PackageInput(request.form.get(f"packages-{i}-name", ""),
                                          request.form.get(f"packages-{i}-description"),
                                          request.form.get(f"packages-{i}-price"),
                                          request.form.get(f"packages-{i}-delivery_days"))
                    for i in range(profiles.MAX_PACKAGES)]
        try:
            with transaction.unit_of_work() as session:
                profiles.save_service(session, partner_id, values, packages, service_id=service_id)
            flash(_("The service is saved."), "success")
            return redirect(url_for(".edit"))
        except RuleViolations as exc:
            flash(exc.message, "danger")
            service = profiles.own_service(db.session, partner_id, service_id) if service_id else None
            rows = [{"name": p.name, "description": p.description, "price": p.price,
                     "delivery_days": p.delivery_days} for p in packages]
            return self._render_service(service, exc.errors, values, rows), 422

    @expose("/services/new", methods=["GET", "POST"])
    @has_access
    def new_service(self):
        _partner_id()
        if request.method == "POST":
            return self._save_service(None)
        return self._render_service(None)

    @expose("/services/<int:pk>", methods=["GET", "POST"])
    @has_access
    def edit_service(self, pk):
        partner_id = _partner_id()
        try:
            service = profiles.own_service(db.session, partner_id, pk)
        except DomainError:
            abort(404)
        if request.method == "POST":
            return self._save_service(service.id)
        return self._render_service(service)

    @expose("/services/<int:pk>/delete", methods=["POST"])
    @has_access
    def delete_service(self, pk):
        partner_id = _partner_id()
        try:
            with transaction.unit_of_work() as session:
                profiles.delete_service(session, partner_id, pk)
        except DomainError:
            abort(404)
        flash(_("The service is deleted."), "success")
        return redirect(url_for(".edit"))
