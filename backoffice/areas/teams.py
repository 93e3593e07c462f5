"""Partner organisations (A9): the owner's team page and payment profile, the invitation
link, and the Desk's lists of members and invitations."""

from flask import Flask
from flask_babel import lazy_gettext as _l

from ..api.resources import MyPaymentProfileApi
from ..security import PARTNER_ROLE, STAFF
from ..views.teams import JoinTeamView, MyPaymentProfileView, MyTeamView, TeamInvitationView, TeamMemberView
from . import READ, Api, Area, Page

OWN_TEAM = "can_list|can_invite|can_remove|can_handover|can_revoke"


def _setup(app: Flask) -> None:
    app.appbuilder.add_view_no_menu(JoinTeamView)  # public: the link is the key


AREA = Area(
    name="teams",
    order=15,
    pages=(
        Page(MyTeamView, "My team", _l("My team"), "fa-users", "My area", {PARTNER_ROLE: OWN_TEAM},
             owner_only=True),
        Page(MyPaymentProfileView, "Payment profile", _l("Payment profile"), "fa-university", "My area",
             {PARTNER_ROLE: "can_list|can_show|can_edit"}, owner_only=True),
        Page(TeamMemberView, "Team members", _l("Team members"), "fa-users", "Desk",
             {STAFF: READ + "|can_remove|can_make_owner|remove|make_owner|can_action|can_action_post"}),
        Page(TeamInvitationView, "Team invitations", _l("Team invitations"), "fa-envelope-o", "Desk",
             {STAFF: READ}),
    ),
    apis=(Api(MyPaymentProfileApi, {PARTNER_ROLE: READ + "|can_put"}),),
    setup=_setup,
)
