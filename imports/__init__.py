"""CSV imports (pandas): addresses, partners, articles, vouchers and codes, sponsor moves.

Not built yet (issue 5); voucher codes must go through `backoffice.services.vouchers.add_code`
and sponsor moves through `downline.moves`, the same code paths as the Desk and the API.
"""
