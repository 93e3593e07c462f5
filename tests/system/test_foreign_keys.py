"""Both databases enforce the models' foreign keys: a restricting child refuses its parent's
delete (a `Conflict` the user can read, not the database's text), a cascading child goes with
its parent. On SQLite this holds only because every connection turns the keys on."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from backoffice import transaction
from backoffice.errors import Conflict
from backoffice.models import Address, AuditEntry
from backoffice.models.addresses import AddressTree


def _count(session, model, column, value) -> int:
    return session.execute(select(func.count()).select_from(model).where(column == value)).scalar()


def test_a_sponsor_with_a_downline_is_refused_by_the_database(ctx, make):
    sponsor = make.address(last_name="Sponsorin")
    make.address(last_name="Neu", sponsor=sponsor)  # address.sponsor_id: ON DELETE RESTRICT
    sponsor_id = sponsor.id

    with pytest.raises(Conflict) as refused, transaction.guarded(ctx):
        ctx.execute(delete(Address).where(Address.id == sponsor_id))  # no rule asked first

    assert refused.value.code == "conflict"
    assert "verknüpfter Datensatz wird noch verwendet" in refused.value.message  # German desk
    assert "FOREIGN KEY" not in refused.value.message and "address" not in refused.value.message
    assert _count(ctx, Address, Address.id, sponsor_id) == 1


def test_an_address_takes_its_tree_row_and_audit_trail_along(ctx, make):
    address = make.address(last_name="Einzeln")
    address_id = address.id
    ctx.add(AuditEntry(actor_label="Desk", entity="address", entity_id=address_id,
                       address_id=address_id, field="email"))
    ctx.commit()
    assert _count(ctx, AuditEntry, AuditEntry.address_id, address_id) >= 1
    assert _count(ctx, AddressTree, AddressTree.address_id, address_id) == 1

    with transaction.guarded(ctx):
        ctx.execute(delete(Address).where(Address.id == address_id))  # both ON DELETE CASCADE

    assert _count(ctx, AuditEntry, AuditEntry.address_id, address_id) == 0
    assert _count(ctx, AddressTree, AddressTree.address_id, address_id) == 0
