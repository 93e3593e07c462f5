"""The partner's expert jobs (`/my/jobs`): the list with a status filter and search, the job
page (details, conversation, transitions, team notes, store access) and the leads."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import transaction
from ..datamodel import Interface
from ..errors import NotFound, RuleViolations
from ..extensions import db
from ..models import JobReview, JobStatus
from ..security import current_partner_id, logged_in_user
from ..services import jobs
from .mixins import local_datetime
from .reviews import ReviewHidingView

PRIORITIES = {1: _l("low"), 2: _l("normal"), 3: _l("high")}


def _user_id():
    return getattr(logged_in_user(), "id", None)


def _flash_fields(error: RuleViolations) -> None:
    for messages in error.errors.values():
        for message in messages:
            flash(message, "danger")


class MyJobsView(BaseView):
    route_base = "/my/jobs"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        wanted = request.args.get("status", "")
        status = JobStatus(wanted) if wanted in JobStatus._value2member_map_ else None
        query = request.args.get("q", "")[:200]
        rows = jobs.partner_jobs(db.session, current_partner_id(), status=status, query=query)
        signals = jobs.signals_of(db.session, current_partner_id())
        return self.render_template(
            "jobs/my_jobs.html",
            rows=rows,
            statuses=list(JobStatus),
            current=status,
            query=query,
            signals=signals,
            when=local_datetime,
        )

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        try:
            with transaction.unit_of_work():
                assignment = jobs.open_job(db.session, current_partner_id(), pk, user_id=_user_id())
        except NotFound:
            abort(404)
        access = jobs.access_requests(db.session, [assignment.id])
        steps = [s for s in (JobStatus.inactive, JobStatus.completed) if s in jobs.ALLOWED[assignment.status]]
        return self.render_template(
            "jobs/my_job.html",
            a=assignment,
            job=assignment.job,
            access=access,
            steps=steps,
            final=assignment.status in jobs.FINAL,
            priorities=PRIORITIES,
            when=local_datetime,
        )

    @expose("/<int:pk>/reply", methods=["POST"])
    @has_access
    def reply(self, pk):
        try:
            with transaction.unit_of_work():
                jobs.reply(
                    db.session, current_partner_id(), pk, request.form.get("body", ""), user_id=_user_id()
                )
        except RuleViolations as error:
            _flash_fields(error)
        else:
            flash(_("Your message was sent."), "success")
        return redirect(url_for(".show", pk=pk))

    @expose("/<int:pk>/decline", methods=["POST"])
    @has_access
    def decline(self, pk):
        try:
            with transaction.unit_of_work():
                jobs.decline_by_partner(
                    db.session, current_partner_id(), pk, request.form.get("reason", ""), user_id=_user_id()
                )
        except RuleViolations as error:
            _flash_fields(error)
        else:
            flash(_("The job was declined."), "success")
        return redirect(url_for(".show", pk=pk))

    @expose("/<int:pk>/mark", methods=["POST"])
    @has_access
    def mark(self, pk):
        wanted = request.form.get("status", "")
        if wanted not in (JobStatus.inactive.value, JobStatus.completed.value):
            abort(400)
        with transaction.unit_of_work():
            jobs.mark(
                db.session,
                current_partner_id(),
                pk,
                JobStatus(wanted),
                user_id=_user_id(),
                review_url=url_for("portal.job_review", token="-", _external=True)[:-1],
            )
        flash(_("Saved."), "success")
        return redirect(url_for(".show", pk=pk))

    @expose("/<int:pk>/note", methods=["POST"])
    @has_access
    def note(self, pk):
        try:
            with transaction.unit_of_work():
                jobs.add_note(
                    db.session, current_partner_id(), pk, request.form.get("body", ""), user_id=_user_id()
                )
        except RuleViolations as error:
            _flash_fields(error)
        return redirect(url_for(".show", pk=pk))

    @expose("/<int:pk>/access", methods=["POST"])
    @has_access
    def access(self, pk):
        with transaction.unit_of_work():
            jobs.request_store_access(
                db.session, current_partner_id(), pk, request.form.get("message", ""), user_id=_user_id()
            )
        flash(_("Your request for store access was sent to the customer."), "success")
        return redirect(url_for(".show", pk=pk))

    @expose("/leads")
    @has_access
    def leads(self):
        rows = jobs.partner_leads(db.session, current_partner_id())
        return self.render_template("jobs/my_leads.html", rows=rows, when=local_datetime)

    @expose("/leads/<int:pk>/review", methods=["POST"])
    @has_access
    def lead_review(self, pk):
        with transaction.unit_of_work():
            jobs.ask_lead_review(
                db.session,
                current_partner_id(),
                pk,
                review_url=url_for("portal.job_review", token="-", _external=True)[:-1],
            )
        flash(_("The contact was asked for a review."), "success")
        return redirect(url_for(".leads"))


class JobReviewView(ReviewHidingView):
    """Staff hide an expert job's review with a reason (audited), as a direct request's."""

    datamodel = Interface(JobReview)
    list_title = _l("Job reviews")
    show_title = _l("Job review")
    edit_title = _l("Hide or show a job review")
