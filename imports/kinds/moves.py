"""Sponsor moves (D5) from a file: each row goes through `downline.moves.move` (cycle check,
row locks, audit with the row's reason), in file order, so later rows see earlier moves.
A row whose address already sits under the named sponsor is unchanged (re-import)."""

from __future__ import annotations

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import select

from backoffice.audit import current_actor
from backoffice.models import Address
from downline.moves import move
from downline.sponsors import SponsorError

from ..report import Report
from .base import Field, Kind
from .records import address_reference


class SponsorMoves(Kind):
    name = "sponsor_moves"
    fields = (
        Field("address", ("Adresse", "Kundennummer", "address_id", "Address"), required=True,
              example="ALT-100231"),
        Field("new_sponsor", ("neuer Sponsor", "new_sponsor_id", "New sponsor", "Sponsor"), required=True,
              example="ALT-100007"),
        Field("reason", ("Grund", "Begründung", "Reason"), required=True, example="Wunsch der Kundin"),
    )

    def process(self, session, frame: pd.DataFrame, report: Report, write: bool) -> None:
        actor = current_actor()
        for line, address_ref, sponsor_ref, reason in zip(
                frame["_line"].tolist(), frame["address"].tolist(), frame["new_sponsor"].tolist(),
                frame["reason"].tolist(), strict=True):
            if not (address_ref and sponsor_ref and reason):
                continue  # the required-field check has reported it
            ids = {}
            for name, ref in (("address", address_ref), ("new_sponsor", sponsor_ref)):
                ids[name] = address_reference(session, ref)
                if ids[name] is None:
                    report.error(line, self.column_of[name], ref,
                                 _("No address with this external key, e-mail or id."))
            if None in ids.values():
                continue
            current = session.execute(select(Address.sponsor_id).where(Address.id == ids["address"])).scalar()
            if current == ids["new_sponsor"]:
                report.unchanged += 1
                continue
            try:
                # Judged (and on PostgreSQL locked) inside the import's transaction; a dry run
                # rolls it back like everything else.
                move(session, ids["address"], ids["new_sponsor"], reason, actor_label=actor.label,
                     actor_user_id=actor.user_id)
                report.updated += 1
            except SponsorError as exc:
                report.error(line, self.column_of["new_sponsor"], sponsor_ref, str(exc))
