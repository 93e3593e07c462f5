"""The APIs read numbers, dates and flags with one reader (`backoffice.api.read`): a wrong
query parameter is answered like the input guard answers one (400 `invalid_parameter`, the
message at the parameter), a wrong body field with 422 and its message at the field."""

from __future__ import annotations

import pytest

from tests.support.http import api_token


@pytest.fixture
def headers(client, make):
    make.user("chefin", "Admin")
    return {**api_token(client, "chefin"), "Accept-Language": "en"}


def _parameter(name: str, message: str, field: str) -> dict:
    return {"error": "invalid_parameter", "message": message, "fields": {name: [field]}}


@pytest.mark.parametrize(("url", "answer"), [
    ("/api/v1/directory/partners?page_size=51",
     _parameter("page_size", "page_size must be a number from 1 to 50.", "Enter a number from 1 to 50.")),
    ("/api/v1/directory/partners?category_id=1.5",
     _parameter("category_id", "category_id must be a whole number.", "Enter a whole number.")),
    ("/api/v1/downline/node/{node}/firstline?page=-1",
     _parameter("page", "page must be a whole number.", "Enter a whole number.")),
    # A digit outside ASCII ("²" passes str.isdigit) is no number either.
    ("/api/v1/downline/node/{node}/firstline?page=%C2%B2",
     _parameter("page", "page must be a whole number.", "Enter a whole number.")),
    ("/api/v1/service_orders/may_order",
     _parameter("package_id", "package_id must be a whole number.", "Enter a whole number.")),
    ("/api/v1/service_orders/may_order?package_id=1&customer_id=x",
     _parameter("customer_id", "customer_id must be a whole number.", "Enter a whole number.")),
    ("/api/v1/service_orders/1?customer_id=1e3",
     _parameter("customer_id", "customer_id must be a whole number.", "Enter a whole number.")),
])
def test_a_bad_query_parameter_is_400_at_the_parameter(client, make, headers, url, answer):
    node = make.address(email="knoten@example.org").id
    response = client.get(url.format(node=node), headers=headers)
    assert (response.status_code, response.json) == (400, answer)


def _field(name: str, message: str, code: str = "invalid_fields") -> dict:
    return {"error": code, "message": message, "fields": {name: [message]}}


@pytest.mark.parametrize(("url", "body", "answer"), [
    ("/api/v1/service_orders/", {"customer_id": True, "package_id": 1},
     _field("customer_id", "customer_id must be a number.")),
    ("/api/v1/service_orders/requests", {"customer_id": 1, "package_id": 1, "wished_start": 5},
     _field("wished_start", "Write the date as 31.12.2026.")),
    ("/api/v1/marketplace/requests", {"category_id": "1"},
     _field("category_id", "category_id must be a number.")),
    ("/api/v1/marketplace/requests", {"category_id": 1, "customer_id": "7"},
     _field("customer_id", "customer_id must be a number.")),
    ("/api/v1/shop/orders", {"external_order_id": "o-1", "customer_id": False, "lines": []},
     _field("customer_id", "customer_id must be a number.", "invalid_customer_id")),
    ("/api/v1/customer_links/", {"address_id": "7"}, _field("address_id", "address_id must be a number.")),
    ("/api/v1/downline/move", {"address_id": 1.5, "new_sponsor_id": 2, "reason": "x"},
     {"error": "invalid_fields", "message": "address_id and new_sponsor_id must be address numbers.",
      "fields": {"address_id": ["Give an address number."]}}),
])
def test_a_wrong_body_field_is_422_at_the_field(client, headers, url, body, answer):
    response = client.post(url, json=body, headers=headers)
    assert (response.status_code, response.json) == (422, answer)
