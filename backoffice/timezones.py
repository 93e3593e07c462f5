"""Times are UTC in the database and shown in the viewer's zone.

Staff see the company's zone; a partner sees the zone of its profile.
"""

from flask import current_app

from .security import current_partner


def viewer_time_zone() -> str:
    partner = current_partner()
    if partner is not None and partner.time_zone:
        return partner.time_zone
    return current_app.config["COMPANY_TIME_ZONE"]
