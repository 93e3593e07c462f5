"""The customer's conversations in the portal (`/c/conversations/…`): write to a partner from
its public profile or a service, list the own conversations, read and answer them, fetch
their files, report abuse. Every page is scoped to the signed-in customer."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from .. import transaction
from ..errors import DomainError
from ..extensions import db
from ..models import Party
from ..services import conversation_inbox as inbox
from ..services import conversations, message_files
from ..services import customer_portal as portal
from .conversations import file_answer, uploads
from .portal import _render, bp, customer_required


def _own(customer, pk: int):
    try:
        return conversations.conversation_of(db.session, pk, customer_id=customer.id)
    except DomainError:
        abort(404)


@bp.route("/conversations/")
@customer_required
def conversations_list(customer):
    rows = inbox.customer_conversations(db.session, customer.id)
    transaction.discard(db.session)
    return _render("portal/conversations.html", rows=rows)


@bp.route("/conversations/new/<int:partner_id>", methods=["GET", "POST"])
@customer_required
def new_conversation(customer, partner_id):
    try:
        partner = inbox.contactable_partner(db.session, partner_id)
    except DomainError:
        abort(404)
    errors, values = {}, request.form
    if request.method == "POST":
        service_id = request.form.get("service_id", "")
        try:
            with transaction.guarded(db.session):
                posted = conversations.start_conversation(
                    db.session,
                    customer.id,
                    partner_id,
                    requirements=request.form.get("requirements", ""),
                    body=request.form.get("body", ""),
                    service_id=int(service_id) if service_id.isdigit() and len(service_id) < 10 else None,
                    store_name=request.form.get("store_name", ""),
                    store_url=request.form.get("store_url", ""),
                    files=uploads(),
                    conversation_url=url_for("MyConversationsView.index", _external=True),
                )
        except DomainError as exc:
            errors = exc.fields or {"body": [exc.message]}
        else:
            flash(_("Your message was sent."))
            return redirect(url_for("portal.conversation", pk=posted.conversation_id))
    else:
        account = portal.account(db.session, customer)
        values = {
            "service_id": request.args.get("service", ""),
            "store_name": account.store_name or "",
            "store_url": account.store_url or "",
        }
    transaction.discard(db.session)
    return _render(
        "portal/conversation_new.html", 422 if errors else 200, partner=partner, errors=errors, values=values
    )


@bp.route("/conversations/<int:pk>", methods=["GET", "POST"])
@customer_required
def conversation(customer, pk):
    found = _own(customer, pk)
    errors = {}
    if request.method == "POST":
        try:
            with transaction.guarded(db.session):
                conversations.post_message(
                    db.session, found, Party.customer, request.form.get("body", ""), files=uploads()
                )
        except DomainError as exc:
            errors = exc.fields or {"body": [exc.message]}
        else:
            flash(_("Your message was sent."))
            return redirect(url_for("portal.conversation", pk=pk))
        found = _own(customer, pk)
    partner_name = inbox.partner_name(db.session, found.partner_id)
    blocked = conversations.is_blocked(db.session, found.partner_id, found.customer_id)
    return _render(
        "portal/conversation.html",
        422 if errors else 200,
        conversation=found,
        messages=found.messages,
        partner_name=partner_name,
        blocked=blocked,
        errors=errors,
        values=request.form,
    )


@bp.route("/conversations/<int:pk>/report", methods=["POST"])
@customer_required
def report_conversation(customer, pk):
    found = _own(customer, pk)
    try:
        with transaction.guarded(db.session):
            conversations.report_conversation(
                db.session, found, Party.customer, request.form.get("reason", "")
            )
    except DomainError as exc:
        flash(next(iter((exc.fields or {}).values()), [exc.message])[0])
    else:
        flash(_("Thank you; staff will look at this conversation."))
    return redirect(url_for("portal.conversation", pk=pk))


@bp.route("/conversations/files/<int:file_id>")
@customer_required
def conversation_file(customer, file_id):
    try:
        row, path = message_files.file_for(db.session, file_id, customer_id=customer.id)
    except DomainError:
        abort(404)
    return file_answer(row, path)
