"""Use cases: plain functions taking a session and plain values (no HTTP, no forms).

`money` computes discounts and VAT, `vouchers` checks vouchers and creates codes, `orders`
places and cancels orders; each raises a `backoffice.errors.DomainError` with a machine
code and a message a user can read, and none of them commits (`backoffice.transaction`).
"""
