"""Expert jobs (J1–J7): matched, direct and lead jobs, each partner's assignment with its
status machine, the 72-hour expiry, team notes, store access and reviews.

Kinds: a **match** goes to up to `JOBS_MATCH_PARTNERS` partners chosen by `match` (the
customer sees a matched partner only once it has written); a **direct** job goes to the one
partner the customer chose; a **lead** comes from a prospect without an account and reaches
the matched partners by e-mail only (not in the jobs list; no expiry).

Statuses per assignment (`ALLOWED`): NEW → OPENED on the first view by any team member;
NEW|OPENED → REPLIED on the partner's first message; REPLIED ⇄ AWAITING_RESPONSE by who
wrote last (`follow_message`, hooked into `conversations.ON_MESSAGE`); any open state →
DECLINED (either side, with a reason; also when the conversation is declined,
`conversations.ON_DECLINE`); NEW|OPENED → EXPIRED at created + 72 h (`expire_due`); the
partner marks INACTIVE or COMPLETED (the customer is asked for a review), the customer
CLOSES; a block closes everything open (`conversations.CLOSERS`). Each change is one
guarded UPDATE (`… WHERE status = <the status read>`) plus a `job_transition` row, so two
concurrent changes cannot both apply.

Matching: findable partners (published, listed, available, not away, an active service in
the category) whose service area reaches the job's postal code (or who work Germany-wide),
never one that blocked the customer, ordered by `marketplace.quality_of` (responsiveness,
rating, expired share) × (1 − 0.5 × the share of this category's jobs the partner declined
in the last 90 days, smoothed): frequently declined kinds of job reach that partner less.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app, has_app_context
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import and_, case, exists, func, insert, literal, literal_column, or_, select, update

from ..errors import Conflict, NotFound, RuleViolations
from ..models import (
    AccessStatus,
    Actor,
    Address,
    Category,
    Conversation,
    CustomerBlock,
    ExpertJob,
    JobAssignment,
    JobKind,
    JobNote,
    JobReview,
    JobStatus,
    JobTransition,
    Partner,
    PartnerProfile,
    Party,
    PostalCodeLocation,
    Service,
    StoreAccessRequest,
)
from ..models.types import utcnow
from ..rules import normalize_email
from . import conversations, mail
from .categories import with_subcategories
from .directory import findable_condition, haversine_km
from .marketplace import expiry_stats, quality_of, ratings, responsiveness
from .profiles import notification_email
from .vouchers import company_zone

EXPIRY_HOURS = 72
REMINDER_HOURS = 24
DECLINE_WEIGHT = Decimal("0.5")
PRIOR_DECLINE_JOBS = 2
WINDOW_DAYS = 90
REVIEW_SALT = "job-review"
REVIEW_DAYS = 60
TEXT_MAX = 5000

S = JobStatus
OPEN = (S.new, S.opened, S.replied, S.awaiting_response, S.inactive, S.completed)
FINAL = (S.declined, S.expired, S.closed)
# Which status may follow which (the partner's and customer's actions and the sweep).
ALLOWED = {
    S.new: {S.opened, S.replied, S.declined, S.expired, S.closed},
    S.opened: {S.replied, S.declined, S.expired, S.closed},
    S.replied: {S.awaiting_response, S.declined, S.inactive, S.completed, S.closed},
    S.awaiting_response: {S.replied, S.declined, S.inactive, S.completed, S.closed},
    S.inactive: {S.replied, S.declined, S.completed, S.closed},
    S.completed: {S.closed},
    S.declined: set(),
    S.expired: set(),
    S.closed: set(),
}
# What each side may do by hand (messages and the sweep move the rest).
BY_HAND = {Actor.partner: {S.declined, S.inactive, S.completed}, Actor.customer: {S.declined, S.closed}}


def _setting(name: str, default):
    return current_app.config.get(name, default) if has_app_context() else default


# --- posting jobs ------------------------------------------------------------------------


@dataclass(frozen=True)
class Posted:
    job_id: int
    partner_ids: list[int]


def _text(value, limit: int = TEXT_MAX) -> str:
    return str(value or "").strip()[:limit]


def _priority(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= 3 else None


def _job_from(session, values: dict, kind: JobKind, *, postal_code_required: bool) -> tuple[ExpertJob, dict]:
    """An unsaved job from the form's values, and the field errors found."""
    errors: dict[str, list[str]] = {}
    category_id = values.get("category_id")
    try:
        category_id = int(category_id) if category_id not in (None, "") else None
    except (TypeError, ValueError):
        category_id = None
    category = session.get(Category, category_id) if category_id else None
    if category is None or not category.active:
        errors["category_id"] = [_("Choose an active category.")]
    requirements = _text(values.get("requirements"))
    if len(requirements) < 10:
        errors["requirements"] = [_("Describe what needs doing in a few words (at least 10 characters).")]
    priorities = {}
    for name in ("priority_time", "priority_cost", "priority_quality"):
        priorities[name] = _priority(values.get(name, 2))
        if priorities[name] is None:
            errors[name] = [_("Choose low, normal or high.")]
    place = None
    postal_code = _text(values.get("postal_code"), 5)
    if postal_code or postal_code_required:
        place = session.get(PostalCodeLocation, postal_code)
        if place is None:
            errors["postal_code"] = [_("Enter a German postal code.")]
    store_url = _text(values.get("store_url"), 500)
    if store_url and not store_url.startswith(("http://", "https://")):
        errors["store_url"] = [_("Enter the address of your store starting with https://.")]
    job = ExpertJob(
        kind=kind,
        category_id=category_id,
        requirements=requirements,
        business_info=_text(values.get("business_info")) or None,
        store_name=_text(values.get("store_name"), 200) or None,
        store_url=store_url or None,
        postal_code=place.postal_code if place else None,
        latitude=place.latitude if place else None,
        longitude=place.longitude if place else None,
        language=mail.language_of(values.get("language")),
        **{k: v or 2 for k, v in priorities.items()},
    )
    return job, errors


def _merchant(customer, store_name: str | None) -> str:
    return " · ".join(part for part in (customer.name, customer.company, store_name) if part)[:300]


def post_match_job(
    session, customer_id: int, values: dict, *, jobs_url: str = "", now: datetime | None = None
) -> Posted:
    """The customer describes a job; matching picks up to N partners, each gets it (and a mail)."""
    now = now or utcnow()
    customer = session.get(Address, customer_id)
    job, errors = _job_from(session, values, JobKind.match, postal_code_required=True)
    if errors:
        raise RuleViolations(errors)
    job.customer_id = customer_id
    job.merchant_name = _merchant(customer, job.store_name)
    job.contact_email = customer.email
    job.created_at = now
    session.add(job)
    session.flush()
    chosen = [m.partner_id for m in match(session, job, now)]
    for partner_id in chosen:
        _assign(session, job, partner_id, now, jobs_url)
    session.flush()
    return Posted(job.id, chosen)


def direct_target(session, partner_id: int, now: datetime | None = None) -> list[Service] | None:
    """The active services of a partner that takes direct jobs now; None when it does not."""
    today = (now or utcnow()).astimezone(company_zone()).date()
    findable = session.execute(
        select(PartnerProfile.partner_id)
        .join(Partner, Partner.id == PartnerProfile.partner_id)
        .where(PartnerProfile.partner_id == partner_id, findable_condition(for_work=True, today=today))
    ).first()
    if findable is None:
        return None
    return session.scalars(
        select(Service).where(Service.partner_id == partner_id, Service.active.is_(True)).order_by(Service.id)
    ).all()


def post_direct_job(
    session,
    customer_id: int,
    partner_id: int,
    values: dict,
    *,
    jobs_url: str = "",
    now: datetime | None = None,
) -> Posted:
    """The customer sends a job to one partner from its profile."""
    now = now or utcnow()
    if direct_target(session, partner_id, now) is None or conversations.is_blocked(
        session, partner_id, customer_id
    ):
        raise NotFound("partner_not_found", _("This partner does not take jobs at the moment."))
    job, errors = _job_from(session, values, JobKind.direct, postal_code_required=False)
    service_id = values.get("service_id")
    if service_id not in (None, ""):
        errors.pop("category_id", None)
        service = session.get(Service, int(service_id)) if str(service_id).isdigit() else None
        if service is None or service.partner_id != partner_id or not service.active:
            errors["service_id"] = [_("Choose one of this partner's services.")]
        else:
            job.service_id = service.id
            job.category_id = service.category_id
            errors.pop("category_id", None)
    if errors:
        raise RuleViolations(errors)
    customer = session.get(Address, customer_id)
    job.customer_id = customer_id
    job.merchant_name = _merchant(customer, job.store_name)
    job.contact_email = customer.email
    job.created_at = now
    session.add(job)
    session.flush()
    _assign(session, job, partner_id, now, jobs_url)
    session.flush()
    return Posted(job.id, [partner_id])


def post_lead(session, values: dict, *, now: datetime | None = None) -> Posted:
    """A prospect without a shop fills in the lead form: the matched partners get its contact
    data by e-mail; a lead is not in their jobs list and does not expire."""
    now = now or utcnow()
    job, errors = _job_from(session, values, JobKind.lead, postal_code_required=True)
    name = _text(values.get("name"), 200)
    if not name:
        errors["name"] = [_("Enter your name.")]
    try:
        email = normalize_email(str(values.get("email") or ""))
    except ValueError as exc:
        errors["email"] = [str(exc)]
    if errors:
        raise RuleViolations(errors)
    job.merchant_name = name
    job.contact_email = email
    job.contact_phone = _text(values.get("phone"), 40) or None
    job.created_at = now
    session.add(job)
    session.flush()
    chosen = [m.partner_id for m in match(session, job, now)]
    for partner_id in chosen:
        _assign(session, job, partner_id, now, "")
    session.flush()
    return Posted(job.id, chosen)


def _assign(session, job: ExpertJob, partner_id: int, now: datetime, jobs_url: str) -> JobAssignment:
    lead = job.kind is JobKind.lead
    assignment = JobAssignment(
        job_id=job.id,
        partner_id=partner_id,
        status=S.new,
        created_at=now,
        status_changed_at=now,
        expires_at=None if lead else now + timedelta(hours=EXPIRY_HOURS),
    )
    session.add(assignment)
    session.flush()
    session.add(
        JobTransition(
            assignment_id=assignment.id, from_status=None, to_status=S.new, at=now, actor=Actor.customer
        )
    )
    partner = session.get(Partner, partner_id)
    recipient = notification_email(partner)
    if recipient:
        mail.queue_mail(
            session,
            "job_lead" if lead else "job_new",
            recipient,
            partner.address.language,
            {
                "name": partner.address.name,
                "job": job,
                "category": job.category.full_name(mail.language_of(partner.address.language))
                if job.category
                else "",
                "expires_at": assignment.expires_at,
                "link": jobs_url,
            },
        )
    return assignment


# --- matching ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Matched:
    partner_id: int
    score: Decimal
    quality: Decimal
    declined_share: Decimal
    distance_km: float


def declined_shares(session, partner_ids: list[int], category_id: int, since: datetime) -> dict[int, Decimal]:
    """Per partner: the smoothed share of its jobs in this category that it declined."""
    if not partner_ids:
        return {}
    declined_by_partner = exists().where(
        JobTransition.assignment_id == JobAssignment.id,
        JobTransition.to_status == S.declined,
        JobTransition.actor == Actor.partner,
    )
    rows = session.execute(
        select(
            JobAssignment.partner_id,
            func.count(JobAssignment.id),
            func.sum(case((declined_by_partner, 1), else_=0)),
        )
        .join(ExpertJob, ExpertJob.id == JobAssignment.job_id)
        .where(
            JobAssignment.partner_id.in_(partner_ids),
            ExpertJob.category_id == category_id,
            JobAssignment.created_at >= since,
        )
        .group_by(JobAssignment.partner_id)
    ).all()
    found = {
        pid: (Decimal(int(declined or 0)) / Decimal(int(total) + PRIOR_DECLINE_JOBS)).quantize(
            Decimal("0.0001")
        )
        for pid, total, declined in rows
    }
    return {pid: found.get(pid, Decimal(0)) for pid in partner_ids}


def _response_shares(session, partner_ids: list[int], since: datetime) -> dict[int, Decimal]:
    """Responsiveness from expert jobs: the share answered before they expired."""
    rows = session.execute(
        select(
            JobAssignment.partner_id, func.count(JobAssignment.id), func.count(JobAssignment.first_reply_at)
        )
        .where(
            JobAssignment.partner_id.in_(partner_ids),
            JobAssignment.created_at >= since,
            JobAssignment.expires_at.is_not(None),
        )
        .group_by(JobAssignment.partner_id)
    ).all()
    found = {pid: responsiveness(int(replied), int(total)) for pid, total, replied in rows}
    return {pid: found.get(pid, responsiveness(0, 0)) for pid in partner_ids}


def match(session, job: ExpertJob, now: datetime | None = None, limit: int | None = None) -> list[Matched]:
    """Up to `limit` partners for the job, best first (see the module's docstring)."""
    now = now or utcnow()
    limit = limit or int(_setting("JOBS_MATCH_PARTNERS", 3))
    today = now.astimezone(company_zone()).date()
    categories = with_subcategories(session, job.category_id)
    stmt = (
        select(PartnerProfile)
        .join(Partner, Partner.id == PartnerProfile.partner_id)
        .where(findable_condition(categories, for_work=True, today=today))
    )
    if job.customer_id is not None:
        stmt = stmt.where(
            ~exists().where(
                CustomerBlock.partner_id == PartnerProfile.partner_id,
                CustomerBlock.customer_id == job.customer_id,
            )
        )
    candidates = []
    for profile in session.scalars(stmt):
        if profile.germany_wide:
            distance = 0.0
        elif profile.latitude is None or job.latitude is None:
            continue
        else:
            distance = haversine_km(profile.latitude, profile.longitude, job.latitude, job.longitude)
            if distance > profile.radius_km:
                continue
        candidates.append((profile.partner_id, distance))
    ids = [pid for pid, _d in candidates]
    if not ids:
        return []
    since = now - timedelta(days=WINDOW_DAYS)
    shares, stars = _response_shares(session, ids, since), ratings(session, ids)
    expiries, declines = (
        expiry_stats(session, ids, since),
        declined_shares(session, ids, job.category_id, since),
    )
    found = []
    for pid, distance in candidates:
        quality = quality_of(shares[pid], stars[pid].smoothed, expiries[pid])
        score = (quality * (1 - DECLINE_WEIGHT * declines[pid])).quantize(Decimal("0.0001"))
        found.append(Matched(pid, score, quality, declines[pid], round(distance, 1)))
    found.sort(
        key=lambda m: (
            -m.score,
            m.distance_km,
            hashlib.sha256(f"{job.id}:{m.partner_id}".encode()).hexdigest(),
        )
    )
    return found[:limit]


# --- status changes ------------------------------------------------------------------------


def _refuse(assignment: JobAssignment, to: JobStatus):
    if assignment.status is S.expired:
        raise Conflict("job_expired", _("This job has expired; no action is possible any more."))
    raise Conflict(
        "illegal_transition",
        _(
            "A job with the status “%(status)s” cannot become “%(to)s”.",
            status=str(assignment.status),
            to=str(to),
        ),
    )


def _apply(
    session,
    assignment: JobAssignment,
    before: JobStatus,
    to: JobStatus,
    actor: Actor,
    now: datetime,
    *,
    user_id: int | None = None,
    reason: str | None = None,
    **values,
) -> bool:
    """The guarded UPDATE of one status change (`… WHERE status = before`) and its
    transition row; False, with nothing written, where a concurrent change came first."""
    done = session.execute(
        update(JobAssignment)
        .where(JobAssignment.id == assignment.id, JobAssignment.status == before)
        .values(status=to, status_changed_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        return False
    session.add(
        JobTransition(
            assignment_id=assignment.id,
            from_status=before,
            to_status=to,
            at=now,
            actor=actor,
            user_id=user_id,
            reason=reason,
        )
    )
    session.flush()
    return True


def _move(session, assignment: JobAssignment, to: JobStatus, actor: Actor, now: datetime, **values) -> None:
    """One status change: refused unless `ALLOWED`; a concurrent change refuses it too."""
    if to not in ALLOWED[assignment.status]:
        _refuse(assignment, to)
    moved = _apply(session, assignment, assignment.status, to, actor, now, **values)
    session.refresh(assignment)
    if not moved:
        raise Conflict("job_changed", _("This job was changed meanwhile; please look again."))


def partner_assignment(session, partner_id: int, assignment_id: int, *, lock: bool = False) -> JobAssignment:
    stmt = select(JobAssignment).where(
        JobAssignment.id == assignment_id, JobAssignment.partner_id == partner_id
    )
    if lock:
        stmt = stmt.with_for_update()
    found = session.scalar(stmt.execution_options(populate_existing=True))
    if found is None:
        raise NotFound("job_not_found", _("There is no such job."))
    return found


def _visible_to_customer():
    """A matched partner shows to the customer only once it has written."""
    return or_(ExpertJob.kind == JobKind.direct, JobAssignment.first_reply_at.is_not(None))


def customer_assignment(session, customer_id: int, assignment_id: int) -> JobAssignment:
    found = session.scalar(
        select(JobAssignment)
        .join(ExpertJob, ExpertJob.id == JobAssignment.job_id)
        .where(
            JobAssignment.id == assignment_id, ExpertJob.customer_id == customer_id, _visible_to_customer()
        )
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise NotFound("job_not_found", _("There is no such job."))
    return found


def open_job(
    session, partner_id: int, assignment_id: int, *, user_id: int | None = None, now: datetime | None = None
) -> JobAssignment:
    """The partner's job page: the first view by any team member marks it opened."""
    assignment = partner_assignment(session, partner_id, assignment_id)
    if assignment.status is S.new and assignment.job.kind is not JobKind.lead:
        now = now or utcnow()
        # A colleague opening it at the same moment: one of the two records it, the other nothing.
        _apply(session, assignment, S.new, S.opened, Actor.partner, now, user_id=user_id, opened_at=now)
        session.refresh(assignment)
    return assignment


def _reason(reason: str) -> str:
    reason = _text(reason, 2000)
    if not reason:
        raise RuleViolations({"reason": [_("Give a reason.")]})
    return reason


def decline(
    session,
    assignment: JobAssignment,
    actor: Actor,
    reason: str,
    *,
    user_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Either side declines with a reason (declines teach matching, see `declined_shares`)."""
    reason = _reason(reason)
    if S.declined not in BY_HAND[actor]:
        _refuse(assignment, S.declined)
    _move(
        session,
        assignment,
        S.declined,
        actor,
        now or utcnow(),
        user_id=user_id,
        reason=reason,
        decline_reason=reason,
    )


def mark(
    session,
    partner_id: int,
    assignment_id: int,
    to: JobStatus,
    *,
    user_id: int | None = None,
    review_url: str = "",
    now: datetime | None = None,
) -> JobAssignment:
    """The partner marks its job inactive or completed (completed asks the customer for a review)."""
    assignment = partner_assignment(session, partner_id, assignment_id, lock=True)
    if to not in (S.inactive, S.completed) or assignment.job.kind is JobKind.lead:
        _refuse(assignment, to)
    now = now or utcnow()
    _move(session, assignment, to, Actor.partner, now, user_id=user_id)
    if to is S.completed:
        _ask_review(session, assignment, review_url, now)
    return assignment


def close(session, customer_id: int, assignment_id: int, *, now: datetime | None = None) -> JobAssignment:
    """The customer closes a job with one partner."""
    assignment = customer_assignment(session, customer_id, assignment_id)
    _move(session, assignment, S.closed, Actor.customer, now or utcnow())
    return assignment


def decline_by_customer(
    session, customer_id: int, assignment_id: int, reason: str, *, now: datetime | None = None
) -> JobAssignment:
    assignment = customer_assignment(session, customer_id, assignment_id)
    decline(session, assignment, Actor.customer, reason, now=now)
    return assignment


def decline_by_partner(
    session,
    partner_id: int,
    assignment_id: int,
    reason: str,
    *,
    user_id: int | None = None,
    now: datetime | None = None,
) -> JobAssignment:
    assignment = partner_assignment(session, partner_id, assignment_id, lock=True)
    if assignment.job.kind is JobKind.lead:
        _refuse(assignment, S.declined)
    decline(session, assignment, Actor.partner, reason, user_id=user_id, now=now)
    return assignment


# --- messages: the job follows its conversation ---------------------------------------------


def reply(
    session,
    partner_id: int,
    assignment_id: int,
    body: str,
    *,
    user_id: int | None = None,
    now: datetime | None = None,
) -> conversations.Posted:
    """The partner writes on the job: the first message starts (or uses) the conversation with
    the customer, and the status follows through `follow_message`."""
    now = now or utcnow()
    assignment = partner_assignment(session, partner_id, assignment_id, lock=True)
    job = assignment.job
    if job.kind is JobKind.lead:
        raise Conflict("lead_by_mail", _("Leads are answered by e-mail, with the contact data you received."))
    if assignment.status in FINAL:
        _refuse(assignment, S.replied)
    conversation = assignment.conversation
    if conversation is None:
        conversation = session.scalar(
            select(Conversation)
            .where(
                Conversation.partner_id == partner_id,
                Conversation.customer_id == job.customer_id,
                Conversation.declined_at.is_(None),
            )
            .order_by(Conversation.last_message_at.desc())
            .limit(1)
        )
        if conversation is None:
            # The job's description is the customer's opening message of the thread.
            started = conversations.start_conversation(
                session,
                job.customer_id,
                partner_id,
                requirements=job.requirements,
                body=job.requirements,
                service_id=job.service_id,
                store_name=job.store_name,
                store_url=job.store_url,
                now=job.created_at,
            )
            conversation = session.get(Conversation, started.conversation_id)
        session.execute(
            update(JobAssignment)
            .where(JobAssignment.id == assignment.id)
            .values(conversation_id=conversation.id)
            .execution_options(synchronize_session=False)
        )
        session.flush()
        session.refresh(assignment)
    return conversations.post_message(
        session, conversation, Party.partner, body, author_user_id=user_id, now=now
    )


def write_as_customer(
    session, customer_id: int, assignment_id: int, body: str, *, now: datetime | None = None
) -> conversations.Posted:
    """The customer answers on the job's conversation (once the partner has written)."""
    assignment = customer_assignment(session, customer_id, assignment_id)
    if assignment.conversation is None:
        raise NotFound("job_not_found", _("There is no such job."))
    if assignment.status in FINAL:
        _refuse(assignment, S.awaiting_response)
    return conversations.post_message(session, assignment.conversation, Party.customer, body, now=now)


def follow_message(session, conversation, message, now) -> None:
    """`ON_MESSAGE`: the partner wrote last → replied, the customer → awaiting response."""
    rows = session.scalars(
        select(JobAssignment)
        .where(
            JobAssignment.conversation_id == conversation.id,
            JobAssignment.status.in_([S.new, S.opened, S.replied, S.awaiting_response]),
        )
        .execution_options(populate_existing=True)
    ).all()
    for assignment in rows:
        if message.sender is Party.partner and assignment.status is not S.replied:
            extra = {"first_reply_at": now} if assignment.first_reply_at is None else {}
            _move(session, assignment, S.replied, Actor.partner, now, user_id=message.author_user_id, **extra)
        elif message.sender is Party.customer and assignment.status is S.replied:
            _move(session, assignment, S.awaiting_response, Actor.customer, now)


def follow_decline(session, conversation, by, reason, now) -> None:
    """`ON_DECLINE`: a declined conversation declines the open jobs on it."""
    actor = Actor.partner if by is Party.partner else Actor.customer
    rows = session.scalars(
        select(JobAssignment)
        .where(JobAssignment.conversation_id == conversation.id, JobAssignment.status.in_(OPEN))
        .execution_options(populate_existing=True)
    ).all()
    for assignment in rows:
        if S.declined in ALLOWED[assignment.status]:
            text = _text(reason, 2000) or _("The conversation was declined.")
            _move(session, assignment, S.declined, actor, now, reason=text, decline_reason=text)


def close_for_block(session, partner_id: int, customer_id: int, now) -> None:
    """`CLOSERS`: a block closes every open job between the two, in the block's transaction."""
    rows = session.scalars(
        select(JobAssignment)
        .join(ExpertJob, ExpertJob.id == JobAssignment.job_id)
        .where(
            JobAssignment.partner_id == partner_id,
            ExpertJob.customer_id == customer_id,
            JobAssignment.status.in_(OPEN),
        )
        .execution_options(populate_existing=True)
    ).all()
    for assignment in rows:
        _move(session, assignment, S.closed, Actor.partner, now, reason=_("The customer was blocked."))


conversations.ON_MESSAGE.append(follow_message)
conversations.ON_DECLINE.append(follow_decline)
conversations.CLOSERS.append(close_for_block)


# --- the sweeps: expiry and the reminder ---------------------------------------------------


def _is(table, status: JobStatus):
    """`status = '<value>'` with the value written into the SQL: SQLite uses a partial index
    (`WHERE status = 'new'`) only for a query that names the same constant."""
    return table.c.status == literal_column(f"'{status.value}'")


def expire_due(session, now: datetime | None = None) -> int:
    """Expire every NEW or OPENED assignment whose 72 hours are over; the count changed.

    Re-derived from the table each run: `UPDATE … WHERE status = s AND expires_at <= now`
    with the transition rows written by the same statement on PostgreSQL (a data-modifying
    WITH), so a second, late or concurrent run finds nothing left (a concurrent run waits on
    the row locks and re-checks the status). SQLite, one writer at a time, writes the
    transitions first and then updates the same rows."""
    now = now or utcnow()
    table, log = JobAssignment.__table__, JobTransition.__table__
    changed = 0
    for before in (S.new, S.opened):
        due = and_(_is(table, before), table.c.expires_at <= now)
        if session.get_bind().dialect.name == "postgresql":
            expired = (
                update(table)
                .where(due)
                .values(status=S.expired.value, status_changed_at=now)
                .returning(table.c.id)
                .cte("expired")
            )
            stmt = (
                insert(log)
                .from_select(
                    ["assignment_id", "from_status", "to_status", "at", "actor"],
                    select(
                        expired.c.id,
                        literal(before.value),
                        literal(S.expired.value),
                        literal(now, log.c.at.type),
                        literal(Actor.system.value),
                    ),
                )
                .returning(log.c.id)
                .cte("logged")
            )
            changed += session.scalar(select(func.count()).select_from(stmt).add_cte(expired))
        else:
            session.execute(
                insert(log).from_select(
                    ["assignment_id", "from_status", "to_status", "at", "actor"],
                    select(
                        table.c.id,
                        literal(before.value),
                        literal(S.expired.value),
                        literal(now, log.c.at.type),
                        literal(Actor.system.value),
                    ).where(due),
                )
            )
            changed += session.execute(
                update(table).where(due).values(status=S.expired.value, status_changed_at=now)
            ).rowcount
    return changed


def remind_due(session, now: datetime | None = None, *, jobs_url: str = "") -> int:
    """Mail the partner 24 hours before a job expires, once: the reminder is claimed by a
    guarded UPDATE (`reminded_at IS NULL`) in the same transaction as its outbox row."""
    now = now or utcnow()
    table = JobAssignment.__table__
    claimed = []
    for status in (S.new, S.opened):
        claimed += (
            session.execute(
                update(table)
                .where(
                    _is(table, status),
                    table.c.reminded_at.is_(None),
                    table.c.expires_at > now,
                    table.c.expires_at <= now + timedelta(hours=REMINDER_HOURS),
                )
                .values(reminded_at=now)
                .returning(table.c.id)
            )
            .scalars()
            .all()
        )
    for assignment_id in claimed:
        assignment = session.get(JobAssignment, assignment_id)
        recipient = notification_email(assignment.partner)
        if recipient:
            language = mail.language_of(assignment.partner.address.language)
            mail.queue_mail(
                session,
                "job_reminder",
                recipient,
                language,
                {
                    "name": assignment.partner.address.name,
                    "job": assignment.job,
                    "category": assignment.job.category.full_name(language),
                    "expires_at": assignment.expires_at,
                    "link": jobs_url,
                },
            )
    return len(claimed)


# --- the partner's list, search and notes --------------------------------------------------


def partner_jobs(
    session, partner_id: int, *, status: JobStatus | None = None, query: str = "", limit: int = 200
) -> list[JobAssignment]:
    """The partner's jobs (leads aside), newest first; `query` searches the merchant's name,
    the store, the job's details and the team's notes."""
    stmt = (
        select(JobAssignment)
        .join(ExpertJob, ExpertJob.id == JobAssignment.job_id)
        .where(JobAssignment.partner_id == partner_id, ExpertJob.kind != JobKind.lead)
    )
    if status is not None:
        stmt = stmt.where(JobAssignment.status == status)
    words = _text(query, 200).lower().split()
    for word in words:
        pattern = f"%{word.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(
            or_(
                func.lower(ExpertJob.merchant_name).like(pattern),
                func.lower(ExpertJob.store_name).like(pattern),
                func.lower(ExpertJob.store_url).like(pattern),
                func.lower(ExpertJob.requirements).like(pattern),
                func.lower(ExpertJob.business_info).like(pattern),
                exists().where(
                    JobNote.assignment_id == JobAssignment.id, func.lower(JobNote.body).like(pattern)
                ),
            )
        )
    return session.scalars(
        stmt.order_by(JobAssignment.created_at.desc(), JobAssignment.id.desc()).limit(limit)
    ).all()


def partner_leads(session, partner_id: int, limit: int = 200) -> list[JobAssignment]:
    return session.scalars(
        select(JobAssignment)
        .join(ExpertJob, ExpertJob.id == JobAssignment.job_id)
        .where(JobAssignment.partner_id == partner_id, ExpertJob.kind == JobKind.lead)
        .order_by(JobAssignment.created_at.desc())
        .limit(limit)
    ).all()


def add_note(
    session,
    partner_id: int,
    assignment_id: int,
    body: str,
    *,
    user_id: int | None = None,
    now: datetime | None = None,
) -> JobNote:
    assignment = partner_assignment(session, partner_id, assignment_id)
    body = _text(body)
    if not body:
        raise RuleViolations({"body": [_("Write a note.")]})
    note = JobNote(assignment_id=assignment.id, author_user_id=user_id, body=body, created_at=now or utcnow())
    session.add(note)
    session.flush()
    return note


@dataclass(frozen=True)
class Signals:
    """What the partner's jobs page shows of its quality (the marketplace's formula)."""

    expired_share: Decimal
    quality: Decimal


def signals_of(session, partner_id: int, now: datetime | None = None) -> Signals:
    now = now or utcnow()
    since = now - timedelta(days=WINDOW_DAYS)
    share = expiry_stats(session, [partner_id], since)[partner_id]
    quality = quality_of(
        _response_shares(session, [partner_id], since)[partner_id],
        ratings(session, [partner_id])[partner_id].smoothed,
        share,
    )
    return Signals(share, quality)


# --- store access --------------------------------------------------------------------------


def request_store_access(
    session,
    partner_id: int,
    assignment_id: int,
    message: str = "",
    *,
    user_id: int | None = None,
    now: datetime | None = None,
) -> StoreAccessRequest:
    """Ask the customer for guest access to its store: recorded, granted only by the customer."""
    assignment = partner_assignment(session, partner_id, assignment_id)
    if assignment.job.kind is JobKind.lead or assignment.status in FINAL:
        raise Conflict("no_access_request", _("Store access can be asked for on an open job only."))
    pending = session.scalar(
        select(StoreAccessRequest).where(
            StoreAccessRequest.assignment_id == assignment.id,
            StoreAccessRequest.status.in_([AccessStatus.requested, AccessStatus.granted]),
        )
    )
    if pending is not None:
        raise Conflict("access_asked", _("Store access was asked for on this job already."))
    found = StoreAccessRequest(
        assignment_id=assignment.id,
        requested_by_user_id=user_id,
        requested_at=now or utcnow(),
        message=_text(message, 2000) or None,
        status=AccessStatus.requested,
    )
    session.add(found)
    session.flush()
    return found


def decide_store_access(
    session, customer_id: int, request_id: int, accept: bool, *, now: datetime | None = None
) -> StoreAccessRequest:
    """The customer accepts or refuses in the portal; only an open request is decided, once."""
    found = session.scalar(
        select(StoreAccessRequest)
        .join(JobAssignment, JobAssignment.id == StoreAccessRequest.assignment_id)
        .join(ExpertJob, ExpertJob.id == JobAssignment.job_id)
        .where(
            StoreAccessRequest.id == request_id, ExpertJob.customer_id == customer_id, _visible_to_customer()
        )
    )
    if found is None:
        raise NotFound("access_not_found", _("There is no such request."))
    done = session.execute(
        update(StoreAccessRequest)
        .where(StoreAccessRequest.id == request_id, StoreAccessRequest.status == AccessStatus.requested)
        .values(status=AccessStatus.granted if accept else AccessStatus.refused, decided_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise Conflict("access_decided", _("This request was decided already."))
    session.refresh(found)
    return found


# --- the customer's jobs -------------------------------------------------------------------


@dataclass
class CustomerJob:
    job: ExpertJob
    assignments: list[JobAssignment]
    waiting: int  # matched partners that have not written (yet): the customer sees only a count


def customer_jobs(session, customer_id: int) -> list[CustomerJob]:
    jobs = session.scalars(
        select(ExpertJob)
        .where(ExpertJob.customer_id == customer_id, ExpertJob.kind != JobKind.lead)
        .order_by(ExpertJob.created_at.desc(), ExpertJob.id.desc())
        .limit(200)
    ).all()
    return [_customer_view(job) for job in jobs]


def _customer_view(job: ExpertJob) -> CustomerJob:
    shown = [a for a in job.assignments if job.kind is JobKind.direct or a.first_reply_at is not None]
    return CustomerJob(job, shown, len(job.assignments) - len(shown))


def customer_job(session, customer_id: int, job_id: int) -> CustomerJob:
    job = session.scalar(
        select(ExpertJob).where(
            ExpertJob.id == job_id, ExpertJob.customer_id == customer_id, ExpertJob.kind != JobKind.lead
        )
    )
    if job is None:
        raise NotFound("job_not_found", _("There is no such job."))
    return _customer_view(job)


def access_requests(session, assignment_ids: list[int]) -> list[StoreAccessRequest]:
    if not assignment_ids:
        return []
    return session.scalars(
        select(StoreAccessRequest)
        .where(StoreAccessRequest.assignment_id.in_(assignment_ids))
        .order_by(StoreAccessRequest.id)
    ).all()


def partner_name(session, partner_id: int) -> str:
    profile = session.get(PartnerProfile, partner_id)
    return profile.display_name if profile else session.get(Partner, partner_id).address.name


# --- reviews -------------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=REVIEW_SALT)


def _ask_review(session, assignment: JobAssignment, review_url: str, now: datetime) -> None:
    job = assignment.job
    recipient = job.contact_email or (job.customer.email if job.customer else None)
    session.execute(
        update(JobAssignment)
        .where(JobAssignment.id == assignment.id)
        .values(review_requested_at=now)
        .execution_options(synchronize_session=False)
    )
    if recipient:
        mail.queue_mail(
            session,
            "job_review",
            recipient,
            job.language,
            {
                "name": job.merchant_name,
                "partner": partner_name(session, assignment.partner_id),
                "link": f"{review_url}{_serializer().dumps(assignment.id)}",
            },
        )


def ask_lead_review(
    session, partner_id: int, assignment_id: int, *, review_url: str = "", now: datetime | None = None
) -> None:
    """A partner asks a lead it worked for to review it (once)."""
    assignment = partner_assignment(session, partner_id, assignment_id, lock=True)
    if assignment.job.kind is not JobKind.lead:
        raise Conflict("not_a_lead", _("Ask for a review by marking the job completed."))
    if assignment.review_requested_at is not None:
        raise Conflict("review_asked", _("You asked for a review already."))
    _ask_review(session, assignment, review_url, now or utcnow())


def assignment_of_review_token(session, token: str) -> JobAssignment:
    try:
        assignment_id = _serializer().loads(token, max_age=REVIEW_DAYS * 86400)
    except (BadSignature, SignatureExpired) as exc:
        raise NotFound("unknown_review_link", _("This review link is not valid (any more).")) from exc
    found = session.get(JobAssignment, assignment_id)
    if found is None or found.review_requested_at is None:
        raise NotFound("unknown_review_link", _("This review link is not valid (any more)."))
    return found


def submit_review(session, token: str, stars, text: str, *, now: datetime | None = None) -> JobReview:
    """One review per job and partner, after the partner asked for it."""
    assignment = assignment_of_review_token(session, token)
    if not isinstance(stars, int) or not 1 <= stars <= 5:
        raise RuleViolations({"stars": [_("Give 1 to 5 stars.")]})
    if session.scalar(select(exists().where(JobReview.assignment_id == assignment.id))):
        raise Conflict("reviewed", _("You reviewed this job already. Thank you!"))
    review = JobReview(
        assignment_id=assignment.id,
        partner_id=assignment.partner_id,
        stars=stars,
        text=_text(text, 2000) or None,
        author_name=assignment.job.merchant_name[:200],
        created_at=now or utcnow(),
    )
    session.add(review)
    try:
        session.flush()
    except Exception as error:  # the same link posted twice at once
        raise Conflict("reviewed", _("You reviewed this job already. Thank you!")) from error
    return review
