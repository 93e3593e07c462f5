"""FAB's model APIs name their columns and titles in the caller's language, with the Desk's
labels (`backoffice.labels`); FAB itself would make up English ones from the column names
("Consent Contact By Sponsor", "List Address")."""

from __future__ import annotations

import pytest
from flask_appbuilder.api import ModelRestApi
from flask_babel import LazyString, force_locale

from backoffice.api.base import ModelApi
from tests.support.http import api_token

TITLES = ("list_title", "show_title", "add_title", "edit_title")
# FAB's filter names that are the same word in German.
SAME_FILTER_NAMES = {"In"}


def model_apis(app) -> list[ModelRestApi]:
    return [view for view in app.appbuilder.baseviews if isinstance(view, ModelRestApi)]


def labelled_columns(api: ModelRestApi) -> set[str]:
    """The columns the API's answers label: list, show, and the add and edit fields it takes."""
    columns = {*api.list_columns, *api.show_columns}
    if api.include_route_methods is None or "post" in api.include_route_methods:
        columns.update(api.add_columns)
    if api.include_route_methods is None or "put" in api.include_route_methods:
        columns.update(api.edit_columns)
    return columns


def made_up(name: str) -> str:
    return ModelRestApi._prettify_column(name)


def in_language(text, language: str) -> str:
    with force_locale(language):
        return str(text)


def test_every_model_api_declares_translatable_labels_and_titles(app):
    apis = model_apis(app)
    assert {api.resource_name for api in apis} >= {
        "address", "partner", "article", "voucher", "my_profile", "my_payment_profile", "my_addresses"}
    problems = []
    for api in apis:
        name = type(api).__name__
        if not isinstance(api, ModelApi):
            problems.append(f"{name} is not a backoffice.api.base.ModelApi")
        for column in sorted(labelled_columns(api)):
            if not isinstance(api.label_columns.get(column), LazyString):
                problems.append(f"{name}.{column}: {api.label_columns.get(column)!r}")
        for title in TITLES:
            if not isinstance(getattr(api, title), LazyString):
                problems.append(f"{name}.{title}: {getattr(api, title)!r}")
    assert problems == []


@pytest.fixture
def staff_headers(client, make):
    make.user("chefin", "Admin")
    return api_token(client, "chefin")


def _answers(client, headers, api):
    """What `_info`, the list and (where there is a record) a show answer."""
    base = f"/api/v1/{api.resource_name}"
    info = client.get(f"{base}/_info", headers=headers)
    listed = client.get(f"{base}/", headers=headers)
    assert (info.status_code, listed.status_code) == (200, 200), api.resource_name
    answers = {"info": info.json, "list": listed.json}
    if listed.json["ids"]:
        shown = client.get(f"{base}/{listed.json['ids'][0]}", headers=headers)
        assert shown.status_code == 200, api.resource_name
        answers["show"] = shown.json
    return answers


def _labels(answers) -> dict[str, str]:
    """Every label of the answers, by where it is."""
    labels = {}
    for kind in ("add_columns", "edit_columns"):
        for field in answers["info"][kind]:
            labels[f"_info {kind} {field['name']}"] = field["label"]
    for which in ("list", "show"):
        for column, label in answers.get(which, {}).get("label_columns", {}).items():
            labels[f"{which} {column}"] = label
    return labels


@pytest.mark.parametrize("language", ["de", "en"])
def test_model_apis_label_in_the_callers_language(app, client, make, staff_headers, language):
    make.partner("partnerin")
    make.article()
    headers = {**staff_headers, "Accept-Language": language}
    wrong = []
    for api in model_apis(app):
        answers = _answers(client, headers, api)
        for where, label in _labels(answers).items():
            column = where.rsplit(" ", 1)[1]
            declared = api.label_columns[column]
            if not isinstance(declared, LazyString) or label != in_language(declared, language):
                wrong.append(f"{api.resource_name} {where}: {label!r}")
            if language == "de" and label == made_up(column) and \
                    in_language(declared, "de") != in_language(declared, "en"):
                wrong.append(f"{api.resource_name} {where}: FAB's {label!r}")
        titles = {"add_title": answers["info"]["add_title"], "edit_title": answers["info"]["edit_title"],
                  "list_title": answers["list"]["list_title"]}
        if "show" in answers:
            titles["show_title"] = answers["show"]["show_title"]
        for title, text in titles.items():
            if text != in_language(getattr(api, title), language):
                wrong.append(f"{api.resource_name} {title}: {text!r}")
        for field in answers["info"]["add_columns"] + answers["info"]["edit_columns"]:
            if field["description"]:
                wrong.append(f"{api.resource_name} {field['name']}: {field['description'][:40]!r}")
        if language == "de":
            for column, filters in answers["info"]["filters"].items():
                for flt in filters:
                    with force_locale("en"):
                        english = [str(f.name) for f in api._filters.get_search_filters()[column]
                                   if f.arg_name == flt["operator"]][0]
                    if flt["name"] == english and english not in SAME_FILTER_NAMES:
                        wrong.append(f"{api.resource_name} filter {column} {flt['operator']}: {english!r}")
    assert wrong == []


def test_the_address_api_in_german_and_english(client, make, staff_headers):
    """What a client sees, spelled out for one API."""
    address = make.address(last_name="Muster")
    german = client.get("/api/v1/address/_info", headers=staff_headers).json
    labels = {field["name"]: field["label"] for field in german["add_columns"]}
    assert labels["consent_contact_by_sponsor"] == "Kontakt durch Sponsor erlaubt"
    assert german["add_title"] == "Neue Adresse"
    english = client.get("/api/v1/address/", headers={**staff_headers, "Accept-Language": "en"}).json
    assert english["label_columns"]["consent_contact_by_sponsor"] == "Sponsor may contact"
    assert english["list_title"] == "Addresses"
    shown = client.get(f"/api/v1/address/{address.id}", headers=staff_headers).json
    assert (shown["show_title"], shown["label_columns"]["postal_code"]) == ("Adresse", "PLZ")
    read_only = client.get("/api/v1/my_addresses/_info", headers=staff_headers).json
    assert (read_only["add_title"], read_only["edit_title"]) == ("Adresse", "Adresse")
