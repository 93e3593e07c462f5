"""The kinds of import, by the name the CLI, the Desk and the API use."""

from .addresses import Addresses
from .codes import VoucherCodes
from .moves import SponsorMoves
from .records import Articles, Partners, Vouchers

KINDS = {kind.name: kind for kind in (Addresses, Partners, Articles, Vouchers, VoucherCodes, SponsorMoves)}
