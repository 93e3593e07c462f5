"""Partner teams: the owner's team page, the invitation link, the payment profile (owner
only), and the Desk's lists of team members and invitations for staff."""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, ModelView, expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.filters import FilterEqualFunction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import transaction
from ..datamodel import Interface
from ..errors import DomainError
from ..extensions import db
from ..models import Partner
from ..models.teams import TeamInvitation, TeamMember
from ..security import current_owned_partner_id, current_partner, is_partner_owner
from ..services import teams
from .mixins import local_datetime
from .partner_area import MyProfileView
from .partners import PAYMENT_COLUMNS


def _flash_error(exc: DomainError) -> None:
    for messages in exc.fields.values():
        for message in messages:
            flash(message, "danger")
    if not exc.fields:
        flash(exc.message, "danger")


def _join_url() -> str:
    return url_for("JoinTeamView.join", token="", _external=True).rstrip("/")


class MyTeamView(BaseView):
    """The owner's team: members, open invitations, invite, remove, hand over ownership."""

    route_base = "/my/team"
    default_view = "list"

    def _owned_partner(self) -> Partner:
        partner = current_partner()
        if partner is None or not is_partner_owner():
            abort(403)
        return partner

    def _change(self, work, done: str):
        partner = self._owned_partner()
        try:
            with transaction.guarded(db.session):
                work(db.session, partner)
        except DomainError as exc:
            _flash_error(exc)
        else:
            flash(done, "success")
        return redirect(url_for("MyTeamView.list"))

    @expose("/")
    @has_access
    def list(self):
        partner = self._owned_partner()
        return self.render_template("teams/my_team.html", partner=partner,
                                    members=teams.members(db.session, partner),
                                    invitations=teams.open_invitations(db.session, partner),
                                    when=local_datetime)

    @expose("/invite", methods=["POST"])
    @has_access
    def invite(self):
        email, language = request.form.get("email", ""), request.form.get("language", "de")
        user = g.user
        inviter = f"{user.first_name} {user.last_name}".strip() if user else ""
        return self._change(lambda session, partner: teams.invite(
            session, partner, email, language=language, inviter_name=inviter, join_url=_join_url()),
            _("The invitation has been sent to %(email)s.", email=email))

    @expose("/remove/<int:user_id>", methods=["POST"])
    @has_access
    def remove(self, user_id):
        return self._change(lambda session, partner: teams.remove(session, partner, user_id),
                            _("The member has been removed from the team."))

    @expose("/handover/<int:user_id>", methods=["POST"])
    @has_access
    def handover(self, user_id):
        return self._change(lambda session, partner: teams.hand_over(session, partner, user_id),
                            _("Ownership has been handed over."))

    @expose("/revoke/<int:invitation_id>", methods=["POST"])
    @has_access
    def revoke(self, invitation_id):
        return self._change(lambda session, partner: teams.revoke(session, partner, invitation_id),
                            _("The invitation has been withdrawn."))


class JoinTeamView(BaseView):
    """The invitation link: set a password and join (no login needed; the link is the key)."""

    route_base = "/team/join"
    default_view = "join"

    @expose("/<token>", methods=["GET", "POST"])
    def join(self, token):
        try:
            invitation = teams.invitation_for(db.session, token)
        except DomainError as exc:
            return self.render_template("teams/join.html", problem=exc.message, invitation=None), exc.status
        errors, values = {}, {}
        if request.method == "POST":
            values = {name: request.form.get(name, "") for name in ("first_name", "last_name")}
            password = request.form.get("password", "")
            if password != request.form.get("password_repeat", ""):
                errors = {"password_repeat": [_("The passwords do not match.")]}
            else:
                try:
                    with transaction.guarded(db.session):
                        user = teams.accept(db.session, token, password=password, **values)
                        username = user.username
                except DomainError as exc:
                    if not exc.fields:
                        return self.render_template("teams/join.html", problem=exc.message,
                                                    invitation=None), exc.status
                    errors = exc.fields
                else:
                    flash(_("Welcome to the team. Log in with %(username)s and your new password.",
                            username=username), "success")
                    return redirect(url_for("AuthDBView.login"))
        return self.render_template("teams/join.html", invitation=invitation, problem=None,
                                    partner=db.session.get(Partner, invitation.partner_id),
                                    errors=errors, values=values)


class MyPaymentProfileView(MyProfileView):
    """The payment profile (SEPA mandate): the owner's alone, not the team members'."""

    route_base = "/my/payment"
    list_title = _l("Payment profile")
    show_title = _l("Payment profile")
    edit_title = _l("Edit payment profile")
    base_filters = [["id", FilterEqualFunction, current_owned_partner_id]]
    list_columns = ["subdomain", "iban", "mandate_reference", "mandate_date"]
    show_columns = ["subdomain"] + PAYMENT_COLUMNS
    edit_columns = PAYMENT_COLUMNS
    formatters_columns = {}


TEAM_LABELS = {"partner": _l("Partner"), "user": _l("Name"), "user.username": _l("User name"),
               "joined_at": _l("Joined at"),
               "email": _l("E-mail"), "created_at": _l("Invited at"), "expires_at": _l("Expires at"),
               "accepted_at": _l("Accepted at"), "revoked_at": _l("Withdrawn at")}


class TeamMemberView(ModelView):
    """Staff: every team member; remove one or make one the owner (audited like the owner's)."""

    datamodel = Interface(TeamMember)
    route_base = "/desk/team-members"
    list_title = _l("Team members")
    show_title = _l("Team member")
    base_permissions = ["can_list", "can_show", "can_remove", "can_make_owner"]
    label_columns = TEAM_LABELS
    list_columns = ["partner", "user.username", "user", "joined_at"]
    show_columns = list_columns
    search_columns = ["joined_at"]
    order_columns = ["joined_at"]
    formatters_columns = {"joined_at": local_datetime}

    def _each(self, items, work, done: str):
        items = items if isinstance(items, list) else [items]
        try:
            with transaction.guarded(db.session):
                for item in items:
                    work(db.session, db.session.get(Partner, item.partner_id), item.user_id)
        except DomainError as exc:
            _flash_error(exc)
        else:
            flash(done, "success")
        return redirect(url_for("TeamMemberView.list"))

    @action("remove", _l("Remove from the team"),
            _l("Remove the selected members? Their logins stop working."), "fa-user-times", single=False)
    def remove(self, items):
        return self._each(items, teams.remove, _("The member has been removed from the team."))

    @action("make_owner", _l("Make owner"), _l("Make this member the owner of the partner account?"),
            "fa-key", multiple=False)
    def make_owner(self, items):
        return self._each(items, teams.hand_over, _("Ownership has been handed over."))


class TeamInvitationView(ModelView):
    datamodel = Interface(TeamInvitation)
    route_base = "/desk/team-invitations"
    list_title = _l("Team invitations")
    show_title = _l("Team invitation")
    base_permissions = ["can_list", "can_show"]
    label_columns = TEAM_LABELS
    list_columns = ["partner", "email", "created_at", "expires_at", "accepted_at", "revoked_at"]
    show_columns = list_columns
    search_columns = ["email", "created_at"]
    order_columns = ["email", "created_at", "expires_at"]
    base_order = ("created_at", "desc")
    formatters_columns = {name: local_datetime for name in ("created_at", "expires_at", "accepted_at",
                                                            "revoked_at")}


