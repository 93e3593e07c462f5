"""All models; importing this package registers every table on FAB's metadata."""

from .addresses import Address, AddressType, Language, RegistrationSource, Salutation
from .articles import VAT_RATES, Article
from .audit import AuditEntry
from .partners import Partner

__all__ = [
    "VAT_RATES",
    "Address",
    "AddressType",
    "Article",
    "AuditEntry",
    "Language",
    "Partner",
    "RegistrationSource",
    "Salutation",
    ]
