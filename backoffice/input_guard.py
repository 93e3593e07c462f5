"""Checks every request passes before a view or API sees it: input no handler can use.

Each class of bad input is refused here once, for every route, instead of in each handler
(where one forgotten check was a 500, or a database error in the middle of a write):

- NUL bytes and lone surrogates in the path, a query parameter, a form field or a JSON
  string: no database stores them (PostgreSQL refuses NUL, UTF-8 has no surrogates);
- whole numbers beyond the database's integer range: in the path (an id; answered 404,
  no such record), in an id or paging parameter of the query string (`page`, `page_size`,
  `psize_…`, `…_id`, and `page`/`page_size` inside the APIs' rison `q=`) and anywhere in a
  JSON body;
- rison in `q=` that does not parse;
- a JSON body under `/api/` that does not parse or is no object (every API takes an
  object): 400 `invalid_json` on every route, before its id or its fields are looked at;
- FAB list pages asked for absurd page sizes (`psize_<View>=100000`): capped at
  `MAX_PAGE_SIZE`, not refused;
- bodies over `MAX_CONTENT_LENGTH`, uploads (multipart) over `UPLOAD_MAX_BYTES`: refused
  (413) from the announced length before anything is read or stored.

A refusal is a `DomainError`: the one JSON shape under `/api/`, a flash message on the
page the user came from in the Desk. Nothing has been written when it is raised.
"""

from __future__ import annotations

import re

import prison
from flask import Flask, current_app, request
from flask_appbuilder.security.schemas import login_post
from flask_babel import gettext as _
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import NotFound as NoSuchPage

from .errors import DomainError, InvalidInput, NotFound

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
_BAD_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
_NUMBER = re.compile(r"[+-]?\d+")
# Query parameters that are ids or page numbers: their numbers must fit the database.
# The names FAB's file manager gives stored files: "<uuid>_sep_<original name>".
_FAB_FILE = re.compile(r"[0-9a-f-]{36}_sep_[^/\\]+")
_NUMERIC_ARG = re.compile(r"^(page|page_size|pk|id|.*_id|page_.+|psize_.+)$")


class TooLarge(DomainError):
    code, status = "too_large", 413


def _bad_text(value) -> bool:
    return isinstance(value, str) and _BAD_CHARACTERS.search(value) is not None


def _out_of_range(value) -> bool:
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return not INT_MIN <= value <= INT_MAX


def _bad_characters(where: str):
    return InvalidInput("invalid_characters", _(
        "%(where)s contains characters that cannot be stored (NUL or a lone surrogate).", where=where),
        fields={where: [_("Contains characters that cannot be stored.")]})


def _too_big(where: str, code: str = "number_out_of_range"):
    return InvalidInput(code, _(
        "%(where)s is a number out of range (at most %(max)s).", where=where, max=INT_MAX),
        fields={where: [_("A number out of range.")]})


def _walk_json(value, where: str = "body"):
    """The first bad string or number in a JSON document, with where it is."""
    if _bad_text(value):
        raise _bad_characters(where)
    if _out_of_range(value):
        raise _too_big(where)
    if isinstance(value, dict):
        for key, item in value.items():
            if _bad_text(key):
                raise _bad_characters(where)
            _walk_json(item, str(key))
    elif isinstance(value, list):
        for item in value:
            _walk_json(item, where)


def _check_size() -> None:
    config = current_app.config
    upload = request.mimetype == "multipart/form-data"
    limit = config.get("UPLOAD_MAX_BYTES") if upload else config.get("MAX_CONTENT_LENGTH")
    if not limit:
        return
    request.max_content_length = limit  # also bounds a body sent without a length
    if request.content_length is not None and request.content_length > limit:
        megabytes = f"{limit / 1024 / 1024:.1f}".rstrip("0").rstrip(".")
        raise TooLarge(message=_("The upload is larger than %(mb)s MB.", mb=megabytes) if upload
                       else _("The request is larger than %(mb)s MB.", mb=megabytes))


def _no_such_page() -> NoSuchPage:
    """A path naming nothing that can exist: 404 on every page, like any unknown record (a
    domain error would be a flash and a redirect in the Desk); `/api/` keeps its JSON shape."""
    return NoSuchPage(description=str(NotFound().message))


def _check_path() -> None:
    if _bad_text(request.path):
        raise _bad_characters("path")
    if (request.endpoint or "").endswith(".download") and \
            not _FAB_FILE.fullmatch(str((request.view_args or {}).get("filename", ""))):
        raise _no_such_page()  # FAB's file download splits the name unchecked (a 500)
    if not str((request.view_args or {}).get("group_by", "0")).isdigit():
        raise _no_such_page()  # FAB's charts read it with int()
    for name, value in (request.view_args or {}).items():
        if _bad_text(value):
            raise _bad_characters(name)
        number = value if isinstance(value, int) else (
            int(value) if isinstance(value, str) and _NUMBER.fullmatch(value) else None)
        if number is not None and _out_of_range(number):
            raise _no_such_page()


def _check_query() -> None:
    capped = {}
    for name, value in request.args.items(multi=True):
        if _bad_text(name) or _bad_text(value):
            raise _bad_characters(name)
        if _NUMERIC_ARG.match(name) and _NUMBER.fullmatch(value.strip()):
            if _out_of_range(int(value)):
                raise _too_big(name, "invalid_parameter")
            maximum = current_app.config.get("MAX_PAGE_SIZE") or 0
            if name.startswith("psize_") and maximum and int(value) > maximum:
                capped[name] = str(maximum)
    if "q" in request.args and request.path.startswith("/api/"):
        try:
            query = prison.loads(request.args["q"])
        except Exception as exc:  # prison raises bare Exceptions and parser errors
            raise InvalidInput("invalid_parameter", _("The q parameter is not valid rison.")) from exc
        if isinstance(query, dict):
            for name in ("page", "page_size"):
                if _out_of_range(query.get(name)):
                    raise _too_big(name, "invalid_parameter")
    if capped:
        args = request.args.copy()
        for name, value in capped.items():
            args.setlist(name, [value])
        request.args = ImmutableMultiDict(args)


def _check_body() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            if _bad_text(name) or _bad_text(value):
                raise _bad_characters(name)
        for name, upload in request.files.items(multi=True):
            if _bad_text(upload.filename):
                raise _bad_characters(name)
    elif request.is_json:
        data = request.get_json(silent=True)
        if request.path.startswith("/api/") and request.get_data(cache=True).strip() \
                and not isinstance(data, dict):
            raise InvalidInput("invalid_json", _("Send a JSON object."))
        if data is not None:
            _walk_json(data)


def check_request() -> None:
    _check_size()
    _check_path()
    _check_query()
    _check_body()


def install(app: Flask) -> None:
    """Run the checks before every other `before_request` function."""
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)
    # FAB's token login documents `provider` as optional but reads it unchecked (a 500
    # without it): without it, it is the database login.
    login_post.fields["provider"].load_default = "db"
