"""Use cases: plain functions taking a session and plain values (no HTTP, no forms).

`money` computes discounts and VAT, `vouchers` checks vouchers and creates codes, `orders`
registers customers, places and cancels orders; each raises a `DomainError` with a machine
code and a message a user can read.
"""


class DomainError(Exception):
    """A use case refused: `code` for machines, the message for people."""

    status = 422

    def __init__(self, code: str, message: str, **details):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
