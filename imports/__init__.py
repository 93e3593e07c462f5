"""CSV imports with pandas: addresses, partners, articles, vouchers, voucher codes, sponsor moves.

One path for the Desk (a background task), the CLI (`flask import`) and the REST API:
`runs` keeps the file and the import log, `runner` reads the file in chunks and runs one
all-or-nothing transaction, `kinds` knows each kind's columns and writes its rows through
the same rules as the Desk (`backoffice.rules`, `backoffice.services.vouchers.add_code`,
`downline.moves`, `downline.placement`).
"""
