"""Expert jobs' fixtures: two partners in Berlin and one in Munich offering design, and a
customer in Berlin (imported by tests/jobs and the browser test)."""

from __future__ import annotations

import pytest

from backoffice.models import AddressType
from tests.support.directory import category, published_partner


@pytest.fixture(name="design")
def design_fixture(ctx):
    return category("Design", "Design")


@pytest.fixture(name="market")
def market_fixture(ctx, make, design):
    schulz = published_partner(make, "schulz", design, display_name="Schulz Design")
    meier = published_partner(make, "meier", design, display_name="Meier Studio")
    far = published_partner(make, "fern", design, postal_code="80331", radius_km=20)  # Munich
    customer = make.address(
        type=AddressType.customer, first_name="Karla", last_name="Kaffee", email="karla@example.org"
    )
    return schulz, meier, far, customer
