"""The public partner directory: no login, German or English, usable with the keyboard alone.

Plain Flask pages (a blueprint, not FAB views): visitors have no account, and the pages use
their own small, accessible layout (landmarks, labels, visible focus, enough contrast)
instead of the Desk's. The language comes from `?lang=de|en` (kept in the session, as the
Desk's language menu does) or the Desk's choice.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, session, url_for
from flask_babel import format_currency, format_date, format_decimal, get_locale, refresh

from ..errors import NotFound, RuleViolations
from ..extensions import db
from ..services import directory, marketplace
from ..services.categories import category_choices
from ..services.profiles import language_choices

blueprint = Blueprint("directory", __name__, url_prefix="/directory")

RADIUS_CHOICES = (10, 25, 50, 100, 200)


@blueprint.before_request
def _language():
    lang = request.args.get("lang")
    if lang in current_app.config.get("LANGUAGES", {}):
        session["locale"] = lang
        refresh()


@blueprint.app_context_processor
def _formatters():
    """Money and numbers in the UI language, for these pages and the partner area's."""
    return {"format_currency": format_currency, "format_decimal": format_decimal}


def _other_language_url(locale: str) -> tuple[str, str, str]:
    """(URL of this page in the other language, its code, its name)."""
    code, name = ("de", "Deutsch") if locale.startswith("en") else ("en", "English")
    args = {**request.args.to_dict(), **(request.view_args or {}), "lang": code}
    return url_for(request.endpoint, **args), code, name


def _locale() -> str:
    return str(get_locale() or "de")


def _int(name: str, default: int | None) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else default


@blueprint.route("/")
def index():
    locale = _locale()
    form = {"category": _int("category", None),
            "postal_code": request.args.get("postal_code", "").strip(),
            "radius": _int("radius", directory.DEFAULT_RADIUS_KM),
            "name": request.args.get("name", "").strip()}
    searched = any(v for k, v in form.items() if k != "radius")
    result, cards, errors = None, [], {}
    if searched:
        try:
            result = directory.search(db.session, category_id=form["category"],
                                      postal_code=form["postal_code"], radius_km=form["radius"],
                                      name=form["name"], page=_int("page", 1))
            cards = directory.cards(db.session, result.hits, locale)
        except RuleViolations as exc:
            errors = exc.errors
    db.session.rollback()  # read only: end the snapshot
    return render_template("directory/index.html", form=form, result=result, cards=cards, errors=errors,
                           categories=category_choices(db.session, locale), radii=RADIUS_CHOICES,
                           searched=searched, locale=locale,
                           other_language=_other_language_url(locale))


@blueprint.route("/partner/<int:partner_id>")
def partner(partner_id: int):
    try:
        page = directory.partner_page(db.session, partner_id)
    except NotFound:
        abort(404)
    languages = dict(language_choices(_locale()))
    rating = marketplace.ratings(db.session, [partner_id])[partner_id]
    reviews = marketplace.visible_reviews(db.session, partner_id)
    return render_template("directory/partner.html", page=page, locale=_locale(), rating=rating,
                           reviews=reviews, author=marketplace.public_author,
                           when=lambda moment: format_date(moment, "medium"),
                           other_language=_other_language_url(_locale()),
                           languages=[languages.get(code, code) for code in page.profile.language_list])
