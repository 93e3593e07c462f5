"""Roles, the logged-in user and its partner (row scope), and FAB's security manager."""

from __future__ import annotations

import re
import time
from functools import cached_property
from itertools import chain

from flask import current_app, flash, g, has_request_context, request, session
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget
from flask_appbuilder.security.forms import ResetPasswordForm
from flask_appbuilder.security.sqla.manager import SecurityManager as FabSecurityManager
from flask_appbuilder.security.sqla.models import Group, Role, User
from flask_appbuilder.security.views import ResetMyPasswordView as FabResetMyPasswordView
from flask_appbuilder.security.views import UserDBModelView as FabUserDBModelView
from flask_appbuilder.security.views import UserModelView
from flask_appbuilder.security.views import UserStatsChartView as FabUserStatsChartView
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash
from wtforms import PasswordField, ValidationError
from wtforms.validators import DataRequired

from . import transaction, web_security
from .extensions import db
from .models import LoginGeneration, Partner
from .models.teams import organisation_of
from .services.sessions import end_sessions, generation

# The roles of Partnerdesk. Their permissions are FAB "builtin roles": regexes over view and
# permission names, kept in code (reviewed like code) instead of rows an admin could drift,
# and composed from the grants each area declares (`backoffice.areas`). `flask partnerdesk
# init` creates the role rows so users can be assigned to them.
STAFF, FINANCE, PARTNER_ROLE, SHOP, PUBLIC = "Staff", "Finance", "Partner", "Shop", "Public"
ROLE_NAMES = (STAFF, FINANCE, PARTNER_ROLE, SHOP, PUBLIC)


def _anchored(pattern: str) -> str:
    return f"^({pattern})$"


def builtin_roles(grants) -> dict[str, list[list[str]]]:
    """FAB's `FAB_ROLES` from (view pattern, permission pattern) pairs per role. Public (the
    anonymous visitor) gets nothing beyond the login pages, which need no permission."""
    return {role: [[_anchored(view), _anchored(permission)] for view, permission in grants.get(role, ())]
            for role in ROLE_NAMES if role != PUBLIC} | {PUBLIC: []}


class TokenUsers:
    """The users of API tokens, kept a few seconds per process.

    A token request loaded its user, roles and groups from the database every time: 0.5 ms
    of thread CPU in a 5 ms shop checkout (5 alternating runs of 250 orders each). An entry
    lives `AUTH_TOKEN_USER_CACHE_SECONDS` (0 turns the cache off) and belongs to one token
    (user id and the token's `jti`). A change to users, roles or groups saved through this
    process clears the cache at once; one saved by another process (the other gunicorn
    worker, a script) counts there within those seconds."""

    MAX_ENTRIES = 1000

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._entries: dict[tuple, tuple[float, User]] = {}

    def get(self, key: tuple, seconds: float, load):
        now = self.clock()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        user = load()
        if user is not None:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries = {k: e for k, e in self._entries.items() if e[0] > now}
                if len(self._entries) >= self.MAX_ENTRIES:
                    self._entries.clear()
            self._entries[key] = (now + seconds, user)
        return user

    def clear(self) -> None:
        self._entries.clear()


token_users = TokenUsers()


@event.listens_for(Session, "after_flush")
def _security_rows_changed(session, flush_context):
    if any(isinstance(obj, (User, Role, Group, LoginGeneration))
           for obj in chain(session.new, session.dirty, session.deleted)):
        token_users.clear()


class ChangePasswordForm(ResetPasswordForm):
    """FAB's own password form plus the current password: a session left open on another
    desk must not be enough to take the account over."""

    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     widget=BS3PasswordFieldWidget())

    def validate_current_password(self, field):
        user = current_app.appbuilder.sm.current_user
        if user is None or not check_password_hash(user.password or "", field.data or ""):
            raise ValidationError(_("The current password is wrong."))


class ResetMyPasswordView(FabResetMyPasswordView):
    form = ChangePasswordForm
    form_columns = ["current_password", "password", "conf_password"]


# The charted columns of the user statistics, as its axes and legends name them.
_CHARTED = {"username": _l("User name"), "login_count": _l("Logins"), "fail_login_count": _l("Failed logins")}


class UserStatsChartView(FabUserStatsChartView):
    """FAB's user statistics (admin menu), labelled in the UI language. FAB names its two
    charts with plain English strings, and its chart setup overwrites the labels of the
    charted columns with names made from the column ("Login Count"; the users' axis got the
    last chart's name); its search fields had no labels."""

    label_columns = {**UserModelView.label_columns, **_CHARTED}
    definitions = [
        {"label": _l("Logins per user"), "group": "username", "series": ["login_count"]},
        {"label": _l("Failed logins per user"), "group": "username", "series": ["fail_login_count"]},
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.label_columns = {**self.label_columns, **_CHARTED}


class UserDBModelView(FabUserDBModelView):
    """FAB's users (admin menu) and *Your user information* (every login): FAB printed the
    active flag as True/False and the roles as a Python list ([Admin])."""

    formatters_columns = {
        "active": lambda active: Markup('<i class="fa fa-check"></i>') if active else "",
        "roles": lambda roles: ", ".join(r.name for r in roles or []),
    }


DESK_LOGIN_ROLES = {STAFF, FINANCE, PARTNER_ROLE}


class SecurityManager(FabSecurityManager):
    """FAB's security manager, minus four database queries on every protected request.

    FAB reads the public role's permissions from the database for each request, and loads
    a token's user, then its roles, then its groups, one query each. Here the public role is
    a builtin role like the others (`ROLES`), the user comes with roles and groups in one
    query, and a token's user is kept a few seconds (`TokenUsers`).

    Logins: failed ones are counted per account and client (`backoffice.web_security`);
    a Shop-only login gets tokens, never a Desk session; every session and token carries
    the user's login generation (`backoffice.services.sessions`), and logout and a
    password change raise it."""

    resetmypasswordview = ResetMyPasswordView
    userdbmodelview = UserDBModelView
    userstatschartview = UserStatsChartView

    def create_jwt_manager(self, app):
        jwt_manager = super().create_jwt_manager(app)

        @jwt_manager.additional_claims_loader
        def _login_generation(identity):
            return {"gen": generation(self.session, int(identity))}

        return jwt_manager

    def auth_user_db(self, username, password):
        name = str(username or "").strip().lower()[:256]
        user = super().auth_user_db(username, password)
        if user is None:
            web_security.login_failed(name, request.remote_addr)
            return None
        web_security.login_succeeded(name)
        if not request.path.startswith("/api/") and not self._may_use_desk(user):
            flash(_("This login is for the shop's API only; it cannot sign in to the Desk."), "warning")
            return None
        return user

    def _may_use_desk(self, user) -> bool:
        names = {role.name for role in user.roles}
        return bool(names & DESK_LOGIN_ROLES) or self.auth_role_admin in names

    def on_user_login(self, user) -> None:
        super().on_user_login(user)
        if not request.path.startswith("/api/"):  # a token carries its own (`gen` claim)
            session["login_gen"] = generation(self.session, user.id)

    def on_user_logout(self, user) -> None:
        super().on_user_logout(user)
        transaction.run(lambda s: end_sessions(s, user.id), session=self.session)
        session.pop("login_gen", None)

    def reset_password(self, userid, password):
        """Every other session and token of the user ends; the session that changed its own
        password lives on."""
        super().reset_password(userid, password)
        number = transaction.run(lambda s: end_sessions(s, int(userid)), session=self.session)
        current = self.current_user
        if current is not None and getattr(current, "id", None) == int(userid):
            session["login_gen"] = number

    def load_user(self, pk):
        user = super().load_user(pk)
        if user is not None and session.get("login_gen", 0) != generation(self.session, user.id):
            return None
        return user

    # Menu entries of a partner's own area: hidden from a login without a partner (an
    # administrator's role may open them, but there is no area of its own to show).
    partner_menus: frozenset[str] = frozenset()
    # Entries of pages only the partner's owner may open: hidden from its team members.
    owner_menus: frozenset[str] = frozenset()

    def has_access(self, permission_name, view_name):
        if permission_name == "menu_access":
            if view_name in self.partner_menus and current_partner() is None:
                return False
            if view_name in self.owner_menus and not is_partner_owner():
                return False
        return super().has_access(permission_name, view_name)

    def is_item_public(self, permission_name, view_name):
        public = self.builtin_roles.get(self.auth_role_public)
        if public is None:
            return super().is_item_public(permission_name, view_name)
        return any(re.match(view, view_name) and re.match(permission, permission_name)
                   for view, permission in public)

    @cached_property
    def _user_by_id(self):
        """Built once: on a token request, building the statement cost as much as running it."""
        user = self.user_model
        return (select(user).where(user.id == bindparam("pk"))
                .options(joinedload(user.roles), joinedload(user.groups).joinedload(Group.roles)))

    def get_user_by_id(self, pk):
        return self.session.execute(self._user_by_id, {"pk": pk}).unique().scalar_one_or_none()

    def load_user_jwt(self, _jwt_header, jwt_data):
        seconds = float(current_app.config.get("AUTH_TOKEN_USER_CACHE_SECONDS", 0))
        if seconds <= 0:
            user = self._detached_user(int(jwt_data["sub"]), keep=False)
        else:
            user = token_users.get((jwt_data["sub"], jwt_data.get("jti")), seconds,
                                   lambda: self._detached_user(int(jwt_data["sub"])))
        if user is None or jwt_data.get("gen", 0) != user.login_generation:
            return None
        g.user = user
        return user

    def _detached_user(self, pk, keep=True):
        """An active user with roles, groups and login generation loaded, in a session of its
        own when it is kept: the objects outlive the request, whose session expires and
        discards what it holds."""
        if not keep:
            user = self.get_user_by_id(pk)
            number = generation(self.session, pk)
        else:
            with Session(self.session.get_bind()) as own:
                user = own.execute(self._user_by_id, {"pk": pk}).unique().scalar_one_or_none()
                number = generation(own, pk)
        if user is None or not user.is_active:
            return None
        user.login_generation = number
        return user


NO_PARTNER = -1  # matches no row: a Partner login without a linked partner sees nothing


def logged_in_user():
    """The user of this request: session login or API token (FAB knows both)."""
    if not has_request_context():
        return None
    return current_app.appbuilder.sm.current_user


def current_partner() -> Partner | None:
    """The partner the logged-in user works for, cached for the request: the one it owns
    (`partner.user_id`) or the one whose team it belongs to (`TeamMember`). Every row scope
    of the partner area goes through here, so a team member sees what the owner sees, and a
    removed member (no membership row, login deactivated) sees nothing from its next request on."""
    user = logged_in_user()
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", True):
        return None
    if "current_partner" not in g:
        g.current_partner = db.session.execute(organisation_of(user.id)).scalar_one_or_none()
    return g.current_partner


def current_user_id() -> int:
    user = logged_in_user()
    return user.id if user is not None and getattr(user, "is_authenticated", False) else NO_PARTNER


def is_partner_owner() -> bool:
    """Whether the logged-in user owns its partner (payment profile and team are the owner's)."""
    partner = current_partner()
    return partner is not None and partner.user_id == current_user_id()


def current_owned_partner_id() -> int:
    """The partner id for owner-only pages: the current partner's for its owner, else none."""
    return current_partner_id() if is_partner_owner() else NO_PARTNER


def current_partner_id() -> int:
    partner = current_partner()
    return partner.id if partner else NO_PARTNER


def current_partner_address_id() -> int:
    partner = current_partner()
    return partner.address_id if partner else NO_PARTNER
