"""Builders for billing tests: lead charges as the marketplace writes them (a confirmed
request, a direct request, the charge), without the ranking in between."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from backoffice import transaction
from backoffice.models import DirectRequest, LeadCharge, LeadRequest, RequestStatus


def charge(partner, category, net: str, at: datetime, description: str = "Steckdosen setzen") -> int:
    """A charge of `net` € (19 % VAT) for `partner` at `at`; its id."""
    with transaction.unit_of_work() as session:
        request = LeadRequest(category_id=category.id, description=description, postal_code="04109",
                              latitude=51.34, longitude=12.37, customer_name="Karla Kunde",
                              email="kunde@example.org", status=RequestStatus.open, created_at=at,
                              confirmed_at=at)
        session.add(request)
        session.flush()
        direct = DirectRequest(request_id=request.id, partner_id=partner.id, created_at=at)
        session.add(direct)
        session.flush()
        row = LeadCharge(direct_request_id=direct.id, request_id=request.id, partner_id=partner.id,
                         category_id=category.id, net=Decimal(net), vat_rate=Decimal("19"), charged_at=at,
                         receipt="{}")
        session.add(row)
        session.flush()
        return row.id
