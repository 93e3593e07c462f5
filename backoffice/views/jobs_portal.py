"""The customer's expert jobs in the portal (`/c/jobs/…`): post a job (matched, or direct to a
partner from its profile), see the own jobs with the partners that wrote, answer, decline,
close, decide on store access, review; and the lead form for prospects without an account."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from .. import transaction
from ..errors import DomainError, NotFound
from ..extensions import db
from ..models import AccessStatus, JobKind, JobStatus
from ..services import jobs
from ..services.categories import category_choices
from .portal import _render, bp, customer_required


def _lang() -> str:
    return "en" if str(get_locale() or "de") == "en" else "de"


def _jobs_url() -> str:
    return url_for("MyJobsView.index", _external=True)


def _job_form(template: str, post, **values):
    """Render the job form; on POST run `post(form)` and redirect to its answer."""
    errors, form = {}, request.form
    if request.method == "POST":
        try:
            with transaction.guarded(db.session):
                target = post(dict(form, language=_lang()))
        except DomainError as exc:
            errors = exc.fields or {"requirements": [exc.message]}
        else:
            return target
    choices = category_choices(db.session, _lang())
    transaction.discard(db.session)
    return _render(template, 422 if errors else 200, errors=errors, values=form, choices=choices, **values)


@bp.route("/jobs/new", methods=["GET", "POST"])
@customer_required
def new_job(customer):
    def post(form):
        posted = jobs.post_match_job(db.session, customer.id, form, jobs_url=_jobs_url())
        flash(
            _("Your job was sent to matching partners. You see a partner here as soon as it writes to you.")
        )
        return redirect(url_for("portal.job_page", job_id=posted.job_id))

    return _job_form("portal/job_new.html", post, direct_to=None, services=[])


@bp.route("/jobs/direct/<int:partner_id>", methods=["GET", "POST"])
@customer_required
def direct_job(customer, partner_id):
    def post(form):
        posted = jobs.post_direct_job(db.session, customer.id, partner_id, form, jobs_url=_jobs_url())
        flash(_("Your job was sent to %(name)s.", name=jobs.partner_name(db.session, partner_id)))
        return redirect(url_for("portal.job_page", job_id=posted.job_id))

    services = jobs.direct_target(db.session, partner_id)
    if services is None:
        abort(404)
    return _job_form(
        "portal/job_new.html",
        post,
        direct_to=(partner_id, jobs.partner_name(db.session, partner_id)),
        services=services,
    )


@bp.route("/leads/new", methods=["GET", "POST"])
def new_lead():
    errors, form = {}, request.form
    if request.method == "POST":
        try:
            with transaction.guarded(db.session):
                jobs.post_lead(db.session, dict(form, language=_lang()))
        except DomainError as exc:
            errors = exc.fields or {"requirements": [exc.message]}
        else:
            return _render("portal/lead_sent.html", email=form.get("email", ""))
    choices = category_choices(db.session, _lang())
    transaction.discard(db.session)
    return _render(
        "portal/lead_new.html", 422 if errors else 200, errors=errors, values=form, choices=choices
    )


@bp.route("/jobs")
@customer_required
def my_jobs(customer):
    rows = jobs.customer_jobs(db.session, customer.id)
    names = {
        a.partner_id: jobs.partner_name(db.session, a.partner_id) for row in rows for a in row.assignments
    }
    transaction.discard(db.session)
    return _render("portal/jobs.html", rows=rows, names=names)


@bp.route("/jobs/<int:job_id>")
@customer_required
def job_page(customer, job_id):
    try:
        found = jobs.customer_job(db.session, customer.id, job_id)
    except NotFound:
        abort(404)
    names = {a.partner_id: jobs.partner_name(db.session, a.partner_id) for a in found.assignments}
    access = jobs.access_requests(db.session, [a.id for a in found.assignments])
    transaction.discard(db.session)
    return _render(
        "portal/job.html",
        found=found,
        names=names,
        access=access,
        final=jobs.FINAL,
        requested=AccessStatus.requested,
        closable=JobStatus.closed,
        direct=JobKind.direct,
    )


def _on_assignment(customer, assignment_id, act, done: str):
    try:
        job_id = jobs.customer_assignment(db.session, customer.id, assignment_id).job_id
    except NotFound:
        abort(404)
    try:
        with transaction.guarded(db.session):
            act()
    except DomainError as exc:
        flash(" ".join(m for ms in (exc.fields or {}).values() for m in ms) or exc.message)
    else:
        flash(done)
    return redirect(url_for("portal.job_page", job_id=job_id))


@bp.route("/jobs/assignments/<int:assignment_id>/write", methods=["POST"])
@customer_required
def job_write(customer, assignment_id):
    return _on_assignment(
        customer,
        assignment_id,
        lambda: jobs.write_as_customer(db.session, customer.id, assignment_id, request.form.get("body", "")),
        _("Your message was sent."),
    )


@bp.route("/jobs/assignments/<int:assignment_id>/close", methods=["POST"])
@customer_required
def job_close(customer, assignment_id):
    return _on_assignment(
        customer,
        assignment_id,
        lambda: jobs.close(db.session, customer.id, assignment_id),
        _("The job was closed."),
    )


@bp.route("/jobs/assignments/<int:assignment_id>/decline", methods=["POST"])
@customer_required
def job_decline(customer, assignment_id):
    return _on_assignment(
        customer,
        assignment_id,
        lambda: jobs.decline_by_customer(
            db.session, customer.id, assignment_id, request.form.get("reason", "")
        ),
        _("The job was declined."),
    )


@bp.route("/jobs/access/<int:request_id>", methods=["POST"])
@customer_required
def job_access(customer, request_id):
    accept = request.form.get("decision") == "accept"
    try:
        with transaction.guarded(db.session):
            found = jobs.decide_store_access(db.session, customer.id, request_id, accept)
            job_id = found.assignment.job_id
    except NotFound:
        abort(404)
    except DomainError as exc:
        flash(exc.message)
        return redirect(url_for("portal.my_jobs"))
    flash(_("Store access granted.") if accept else _("Store access refused."))
    return redirect(url_for("portal.job_page", job_id=job_id))


@bp.route("/jobs/reviews/<token>", methods=["GET", "POST"])
def job_review(token):
    try:
        assignment = jobs.assignment_of_review_token(db.session, token)
    except DomainError:
        abort(404)
    partner = jobs.partner_name(db.session, assignment.partner_id)
    errors = {}
    if request.method == "POST":
        try:
            with transaction.guarded(db.session):
                jobs.submit_review(
                    db.session, token, request.form.get("stars", type=int), request.form.get("text", "")
                )
        except DomainError as exc:
            errors = exc.fields or {"stars": [exc.message]}
        else:
            return _render("portal/job_review_thanks.html", partner=partner)
    transaction.discard(db.session)
    return _render(
        "portal/review.html",
        422 if errors else 200,
        token=token,
        action=url_for("portal.job_review", token=token),
        partner=partner,
        errors=errors,
        values=request.form,
    )
