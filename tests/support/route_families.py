"""Route families: what each kind of caller must get on every GET route of the app.

A walk (tests/support/walk.py) looks up each route of the URL map here; the first family
whose pattern matches the rule gives the exact status (and redirect target). The ids a walk
puts into the routes are another owner's unless a family's function says otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tests.support.walk import FORBIDDEN, MISSING, OK, UNAUTHENTICATED, Family, Visit, redirect

# --- What partner A (its owner or a team member) gets on every GET route, by route family ---

@dataclass(frozen=True)
class PartnerA:
    member: bool         # a team member, not the owner
    own_node: int        # A's address: the navigator's start
    downline: frozenset  # address ids in A's downline (A may open their nodes)
    public: frozenset = frozenset()  # partner ids with a published profile
    token: bool = False  # /api/ called with A's token (else with the Desk session only)


def _owner_only(ok):
    return lambda v: FORBIDDEN if v.who.member else ok


def _in_downline(v: Visit):
    return OK if v.value is None or v.value in v.who.downline else MISSING


def _public(v):
    return OK if v.value is None or v.value in v.who.public else MISSING


def _api(v):
    if not v.who.token:
        return UNAUTHENTICATED
    if re.match(r"/api/v1/(my_[a-z_]+|downline)/", v.rule):
        return _in_downline(v) if "/downline/" in v.rule else (MISSING if v.value else OK)
    if v.rule.startswith("/api/v1/directory/"):
        return _public(v)
    return FORBIDDEN  # the staff's APIs


_STAFF = (r"(addressview|articleview|auditentryview|jobreviewview|leadchargeview|leadrequestview"
          r"|neverorderedview|orderview|partnerview|redemptionview|reviewview|vouchercodeview|voucherview"
          r"|groups|permissions|permissionviews|roles|viewmenus|users|userstatschartview|resetpassword"
          r"|billing|imports|voucher-reports|desk/[a-z-]+)")
_FAB = r"(my/[a-z]+|[a-z]+view|groups|permissions|permissionviews|roles|viewmenus|users|desk/[a-z-]+)"

UNKNOWN_FAB_NAME = Family("FAB action of an unknown name, FAB download of an unknown file",
                          rf"/{_FAB}/(action|download)/.*", MISSING)
UNKNOWN_TOKEN = Family("language switch with an unknown locale, team invitation with an unknown token",
                       r"/lang/<string:locale>|/team/join/<token>", MISSING)
MOVED_LIST = Family("the former address list: moved to the downline navigator", r"/my/addresses/(list/)?",
                    redirect("/my/downline/", 301))
MOVED_PAGE = Family("the former address page: moved to the node's page", r"/my/addresses/show/<int:pk>",
                    lambda v: redirect(f"/my/downline/node/{v.value}", 301))

PORTAL_TOKEN = Family("the portal's links by token (unknown token)",
                      r"/c/(requests(/confirm)?|reviews|jobs/reviews)/<[a-z]+>", MISSING)

PARTNER_FAMILIES = [
    UNKNOWN_FAB_NAME,
    Family("the API's description", r"/api/<version>/_openapi", OK),
    Family("FAB's menu API (session, no token)", r"/api/v1/menu/", FORBIDDEN),
    Family("APIs: 401 without a token; with A's token the partner's own APIs (foreign ids 404), "
           "the public directory, the staff's APIs 403", r"/api/.*", _api),
    Family("own account pages",
           r"/(users/userinfo/|userinfoeditview/form|resetmypassword/form|swagger/<version>)", OK),
    Family("staff pages", rf"/{_STAFF}/.*", FORBIDDEN),
    Family("start page, public directory", r"/|/directory/", OK),
    Family("public profile by partner id", r"/directory/partner/<int:partner_id>", _public),
    Family("signed in already, back", r"/login/|/back", redirect("/")),
    UNKNOWN_TOKEN,
    MOVED_LIST,
    MOVED_PAGE,
    Family("the former address export: the own firstline's export",
           r"/my/addresses/export/<fmt>",
           lambda v: redirect(f"/my/downline/export/{v.who.own_node}/{v.url.rsplit('/', 1)[1]}?level=1")),
    Family("the navigator's start: the own node", r"/my/downline/",
           lambda v: redirect(f"/my/downline/node/{v.who.own_node}")),
    Family("a downline node: inside A's downline only", r"/my/downline/(node|stats|tree|export)/<int:pk>.*",
           _in_downline),
    Family("owner only: invoices and team", r"/my/(billing|team)/", _owner_only(OK)),
    Family("owner only: an invoice by id", r"/my/billing/<int:pk>.pdf", _owner_only(MISSING)),
    Family("an export of an unknown name", r"/my/billing/export/<name>.xlsx", MISSING),
    Family("partner FAB views: no add, delete, or edit of codes and redemptions",
           r"/my/[a-z]+/(add|delete/<pk>)|/my/(codes|redemptions)/edit/<pk>", FORBIDDEN),
    Family("A's own lists, forms and exports (no id)",
           r"/my/[a-z-]+/([a-z-]+/?)*(export/<fmt>)?|/my/downline/new-customers/export/<fmt>|/tasks/", OK),
    Family("a record by id: another owner's is not found", r"/(my|tasks)/.*<[a-z:_]+>.*", MISSING),
    Family("the customer portal's public pages",
           r"/c/(sign-in(/<token>)?|leads/new|ranking|requests/new)", OK),
    PORTAL_TOKEN,
    Family("the customer portal's language switch", r"/c/language/<code>", redirect("/c/")),
    Family("the customer portal: a Desk login is no customer session", r"/c/.*",
           lambda v: redirect(f"/c/sign-in?next={v.url}")),
]




# --- What a customer signed in to the portal (and no Desk login) gets ----------------------

@dataclass(frozen=True)
class CustomerA:
    orderable: frozenset = frozenset()    # package ids of a partner's public services
    contactable: frozenset = frozenset()  # partner ids a customer may write to or ask directly


def _orderable(v):
    return OK if v.value in v.who.orderable else MISSING


def _contactable(v):
    return OK if v.value in v.who.contactable else MISSING


def _desk_login(v):
    return redirect(f"/login/?next=http://localhost{v.url}")


CUSTOMER_FAMILIES = [
    UNKNOWN_FAB_NAME,
    Family("APIs without a token", r"/api/.*", UNAUTHENTICATED),
    Family("start page, public directory, Desk sign-in", r"/|/directory/|/login/", OK),
    Family("public profile by partner id (none published)", r"/directory/partner/<int:partner_id>", MISSING),
    Family("back", r"/back", redirect("/")),
    UNKNOWN_TOKEN,
    Family("a task's file or status by id: not found before the sign-in is asked",
           r"/tasks/<int:pk>/(file|status)", MISSING),
    MOVED_LIST,
    MOVED_PAGE,
    Family("the former address export: the navigator", r"/my/addresses/export/<fmt>",
           redirect("/my/downline/")),
    Family("the portal's language switch", r"/c/language/<code>", redirect("/c/")),
    Family("the portal's sign-in by link (a form; the token is checked on sending it)",
           r"/c/sign-in(/<token>)?", OK),
    PORTAL_TOKEN,
    Family("a public package to order", r"/c/packages/<int:package_id>/order", _orderable),
    Family("a partner to write to or ask directly", r"/c/(conversations/new|jobs/direct)/<int:partner_id>",
           _contactable),
    Family("a record by id: another customer's is not found", r"/c/.*<[a-z:_]+>.*", MISSING),
    Family("the customer's own portal pages", r"/c/.*", OK),
    Family("every Desk page: the Desk's sign-in", r"/.*", _desk_login),
]


# --- What every API write answers to a body with bad values, by route family ---------------
#
# The walks of tests/system/test_api_errors.py send, to every operation of the OpenAPI spec
# that takes a JSON body, a body whose string fields all carry a value of the wrong JSON type
# ("type": 5, 1.5, ["x"], {"x": 1}, true), a text of 5,000 characters ("long") or, for the
# fields with a list of values, an unknown value ("enum"). The rest of the body is plausible:
# ids of records that exist, false for flags. The one contract: a value of the wrong type, a
# text longer than its column and an unknown choice are 422 `invalid_fields` naming each such
# field; a family lists where a route's own code or its order of checks says otherwise.
# Writes are looked up as "METHOD /api/v1/path/{pk}" (the spec's path); the first family
# whose pattern matches gives, per walk, (status, error code, fields named). CARRIED names
# every field the walk filled with the bad value (a field of a list's item by its position,
# "packages-0-price", next to the list's own name); SKIP: the walk sends nothing (free text of
# any length is taken: a Text column).

CARRIED = "carried"
SKIP = None
_REFUSED = (422, "invalid_fields", CARRIED)


@dataclass(frozen=True)
class BodyFamily:
    name: str
    pattern: str
    answers: dict  # walk ("type", "long", "enum") -> (status, error, fields) or SKIP
    plain: tuple = ()  # (field, value) pairs the walk's body takes instead of its own


BODY_FAMILIES = [
    BodyFamily("FAB's model APIs: marshmallow names every field; a text longer than its column too; "
               "the profile text is a Text column of any length",
               r"(POST|PUT) /api/v1/(address|article|partner|voucher|my_profile|my_payment_profile)"
               r"/(\{pk\})?",
               {"type": _REFUSED, "enum": _REFUSED,
                "long": (422, "invalid_fields", lambda carried: carried - {"profile_text"})}),
    BodyFamily("an address's erasure: the reason is required text, stored in the audit (Text) at any length",
               r"POST /api/v1/address/\{pk\}/erase", {"type": _REFUSED, "long": SKIP}),
    BodyFamily("the partner's services: each field, and each field of each package by its position",
               r"(POST|PUT) /api/v1/my_services/(\{pk\})?",
               {"type": (422, "invalid_fields", lambda carried: carried - {"packages"}),
                "long": (422, "invalid_fields", frozenset({"price_from", "packages-0-price"}))}),
    BodyFamily("a customer link by e-mail or address number (sent without the number: the e-mail "
               "is looked up only then; an overlong one is no customer's)", r"POST /api/v1/customer_links/",
               {"type": _REFUSED, "long": (404, "no_customer", frozenset())}, plain=(("address_id", None),)),
    BodyFamily("a move in the tree: the reason is text, stored in the audit (Text) at any length",
               r"POST /api/v1/downline/move", {"type": _REFUSED, "long": SKIP}),
    BodyFamily("a customer's request in the marketplace: its texts checked each (a description of "
               "up to 5,000 characters is taken)", r"POST /api/v1/marketplace/requests",
               {"type": _REFUSED, "enum": _REFUSED,
                "long": (422, "invalid_fields", lambda carried: carried - {"description"})}),
    BodyFamily("the token login: its schema names the fields (name and password are required, which "
               "FAB's spec does not say); an overlong name is no known login",
               r"POST /api/v1/security/login",
               {"type": _REFUSED, "long": (401, "not_authenticated", frozenset()),
                "enum": (422, "invalid_fields", frozenset({"provider", "username", "password"}))}),
    BodyFamily("a customer's request to order a package", r"POST /api/v1/service_orders/requests",
               {"type": _REFUSED, "long": (422, "invalid_fields", frozenset({"wished_start"}))}),
    BodyFamily("the shop's registration: every field; an unknown partner subdomain first",
               r"POST /api/v1/shop/customers",
               {"type": _REFUSED, "enum": _REFUSED, "long": (422, "unknown_subdomain", frozenset())}),
    BodyFamily("the shop's order: its texts first; the external order id's length, then the lines",
               r"POST /api/v1/shop/orders",
               {"type": (422, "invalid_fields", frozenset({"external_order_id", "voucher_code"})),
                "long": (422, "invalid_external_order_id", frozenset({"external_order_id"}))}),
    BodyFamily("the shop's voucher check: the code is text; the basket is read first (an overlong "
               "article number is an unknown article)",
               r"POST /api/v1/shop/vouchers/check",
               {"type": (422, "invalid_fields", frozenset({"code"})),
                "long": (422, "unknown_article", frozenset())}),
    BodyFamily("a voucher's codes: one code or a pattern, text", r"POST /api/v1/voucher/\{pk\}/codes",
               {"type": _REFUSED, "long": (422, "invalid_pattern", frozenset())}),
]
