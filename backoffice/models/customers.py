"""Customer accounts: the marketplace's customers sign in to the customer portal (`/c/…`).

A customer is an address (new customer or customer); the account adds what the portal
needs: an optional store name and URL, and the passwordless sign-in links. A link's token is
signed (itsdangerous) and names a row here; the row makes it single-use and short-lived.
"""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy.orm import relationship

from .types import UTCDateTime, utcnow


class CustomerAccount(Model):
    __tablename__ = "customer_account"

    id = Column(Integer, primary_key=True)
    address_id = Column(Integer, ForeignKey("address.id", ondelete="CASCADE"), nullable=False, unique=True)
    store_name = Column(String(200), nullable=True)
    store_url = Column(String(500), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_sign_in_at = Column(UTCDateTime, nullable=True)

    address = relationship("Address")

    def __str__(self) -> str:
        return self.store_name or (self.address.name if self.address else str(self.address_id))


class CustomerSignIn(Model):
    __tablename__ = "customer_sign_in"

    id = Column(Integer, primary_key=True)
    address_id = Column(Integer, ForeignKey("address.id", ondelete="CASCADE"), nullable=False, index=True)
    nonce = Column(String(64), nullable=False, unique=True)
    source = Column(String(16), nullable=False, default="email")  # "email" / "shop"
    expires_at = Column(UTCDateTime, nullable=False)
    used_at = Column(UTCDateTime, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
