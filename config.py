"""Configuration read from the environment (microblog style): one class, sane local defaults."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def sqlalchemy_url(url: str) -> str:
    """psycopg 3 is the driver we ship; accept the common short forms of a PostgreSQL URL too."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{BASE_DIR / 'instance' / 'partnerdesk.db'}"
    return sqlalchemy_url(url)


class Config:
    # No default: `backoffice.web_security` lends a development key to development and tests
    # only (PARTNERDESK_ENV=development, set by the Makefile, or TESTING) and refuses to start
    # anywhere else without one.
    SECRET_KEY = os.environ.get("SECRET_KEY")
    PARTNERDESK_ENV = os.environ.get("PARTNERDESK_ENV", "production")
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    APP_NAME = "Partnerdesk"
    APP_THEME = ""
    COMPANY_TIME_ZONE = os.environ.get("COMPANY_TIME_ZONE", "Europe/Berlin")

    # Alembic owns the schema; `flask partnerdesk init` creates roles and permissions.
    FAB_CREATE_DB = False
    FAB_UPDATE_PERMS = False
    FAB_ADD_SECURITY_API = False
    FAB_API_SWAGGER_UI = True
    # The Desk's frame (its stylesheet, the date pickers in the UI language) around every page.
    FAB_BASE_TEMPLATE = "partnerdesk/base.html"
    FAB_API_MAX_PAGE_SIZE = 500
    # Desk list pages (`psize_<View>=`) are capped at this many rows (backoffice/input_guard.py).
    MAX_PAGE_SIZE = int(os.environ.get("MAX_PAGE_SIZE", "500"))
    # Bodies larger than this are refused (413) before they are read; uploads (multipart,
    # the CSV imports) have their own limit and are refused before anything is stored.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(1024 * 1024)))
    UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", str(200 * 1024 * 1024)))
    # Article lines a shop order or voucher check may have.
    ORDER_MAX_LINES = int(os.environ.get("ORDER_MAX_LINES", "100"))
    AUTH_TYPE = 1  # AUTH_DB
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
    AUTH_USER_REGISTRATION = False
    # An API token's user (active flag, roles) is re-read after this many seconds at the latest;
    # 0 reads it on every request. See `backoffice.security.TokenUsers`.
    AUTH_TOKEN_USER_CACHE_SECONDS = float(os.environ.get("AUTH_TOKEN_USER_CACHE_SECONDS", 5))
    FAB_PASSWORD_HASH_METHOD = os.environ.get("FAB_PASSWORD_HASH_METHOD", "scrypt")

    # German default, English switchable (FAB's language menu stores the choice in the session).
    BABEL_DEFAULT_LOCALE = "de"
    BABEL_DEFAULT_FOLDER = "backoffice/translations"
    LANGUAGES = {
        "de": {"flag": "de", "name": "Deutsch"},
        "en": {"flag": "gb", "name": "English"},
    }

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = int(os.environ.get("WTF_CSRF_TIME_LIMIT", "7200"))  # a form's token expires
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Served over HTTPS (behind the proxy): HSTS and Secure cookies. Off for plain local http.
    HTTPS = os.environ.get("HTTPS", "").lower() in ("1", "true", "yes")
    SESSION_COOKIE_SECURE = HTTPS
    HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", "31536000"))
    # Behind one reverse proxy: take the client's address and scheme from its X-Forwarded-*
    # headers (the login throttle counts per client address).
    BEHIND_PROXY = os.environ.get("BEHIND_PROXY", "").lower() in ("1", "true", "yes")

    # Counters of the throttles (voucher checks, failed logins), shared by every process:
    # Redis for several machines, else an embedded SQLite file all workers of a machine share.
    RATELIMIT_STORAGE_URI = os.environ.get(
        "RATELIMIT_STORAGE_URI", f"sqlite:///{BASE_DIR / 'instance' / 'ratelimits.sqlite'}")
    # Failed logins (Desk form and token login) per account and per client address.
    LOGIN_FAILURES_PER_ACCOUNT = int(os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "10"))
    LOGIN_FAILURES_PER_CLIENT = int(os.environ.get("LOGIN_FAILURES_PER_CLIENT", "50"))
    LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "900"))

    # Partner pictures: written by FAB's ImageManager, served as static files.
    UPLOAD_FOLDER = str(BASE_DIR / "backoffice" / "static" / "uploads") + "/"
    IMG_UPLOAD_FOLDER = UPLOAD_FOLDER
    IMG_UPLOAD_URL = "/static/uploads/"
    IMG_SIZE = (300, 300, True)

    # Which countries' postal codes we check, and how (see backoffice/rules.py).
    DEFAULT_COUNTRY = "DE"

    # Seller on customer invoices (B1).
    COMPANY_NAME = os.environ.get("COMPANY_NAME", "Partnerdesk GmbH")
    COMPANY_ADDRESS = os.environ.get("COMPANY_ADDRESS", "Musterstraße 1\n10115 Berlin\nDeutschland")
    COMPANY_VAT_ID = os.environ.get("COMPANY_VAT_ID", "DE123456789")
    # Partners' monthly invoices: where transfers go, the SEPA creditor identifier for
    # direct debits, and the days from the invoice date to the due (collection) date.
    COMPANY_IBAN = os.environ.get("COMPANY_IBAN", "DE89370400440532013000")
    COMPANY_BIC = os.environ.get("COMPANY_BIC", "")
    SEPA_CREDITOR_ID = os.environ.get("SEPA_CREDITOR_ID", "DE98ZZZ09999999999")
    PARTNER_INVOICE_DUE_DAYS = int(os.environ.get("PARTNER_INVOICE_DUE_DAYS", "7"))

    # Vouchers: partner codes per partner; voucher checks per client / customer and window (V12).
    PARTNER_CODES_MAX = int(os.environ.get("PARTNER_CODES_MAX", "5"))
    VOUCHER_CHECKS_PER_CLIENT = int(os.environ.get("VOUCHER_CHECKS_PER_CLIENT", "600"))
    VOUCHER_CHECKS_PER_CUSTOMER = int(os.environ.get("VOUCHER_CHECKS_PER_CUSTOMER", "20"))
    VOUCHER_CHECK_WINDOW_SECONDS = int(os.environ.get("VOUCHER_CHECK_WINDOW_SECONDS", "60"))

    # Background tasks (backoffice/tasks): huey on a SQLite file by default, on Redis when
    # TASKS_QUEUE_URL=redis://host:6379/0. Files of results live under TASKS_FILES_DIR.
    TASKS_QUEUE_URL = os.environ.get("TASKS_QUEUE_URL",
                                     f"sqlite:///{BASE_DIR / 'instance' / 'tasks-queue.sqlite'}")
    TASKS_QUEUE_NAME = os.environ.get("TASKS_QUEUE_NAME", "partnerdesk")  # apps sharing one Redis
    TASKS_FILES_DIR = os.environ.get("TASKS_FILES_DIR", str(BASE_DIR / "instance" / "tasks"))
    TASKS_KEEP_DAYS = int(os.environ.get("TASKS_KEEP_DAYS", "30"))
    # Sent and failed mails keep their texts this long, then only the record of the sending.
    MAIL_KEEP_DAYS = int(os.environ.get("MAIL_KEEP_DAYS", "180"))
    TASKS_MAX_ATTEMPTS = int(os.environ.get("TASKS_MAX_ATTEMPTS", "3"))
    TASKS_HEARTBEAT_SECONDS = int(os.environ.get("TASKS_HEARTBEAT_SECONDS", "30"))
    TASKS_STALE_SECONDS = int(os.environ.get("TASKS_STALE_SECONDS", "180"))
    # Downline exports above this many members run as a background task.
    DOWNLINE_EXPORT_INLINE_MAX = int(os.environ.get("DOWNLINE_EXPORT_INLINE_MAX", "5000"))

    # CSV imports (issue 5): uploaded files are kept here so a checked file can be imported
    # later; the REST API answers files up to IMPORT_INLINE_MAX_BYTES at once, bigger ones
    # become background tasks (202).
    IMPORTS_DIR = os.environ.get("IMPORTS_DIR", str(BASE_DIR / "instance" / "imports"))
    IMPORT_INLINE_MAX_BYTES = int(os.environ.get("IMPORT_INLINE_MAX_BYTES", str(2 * 1024 * 1024)))

    # Conversations: files sent with messages are stored under MESSAGE_FILES_DIR (a folder all
    # machines share when there are several), at most MESSAGE_FILE_MAX_BYTES each and
    # MESSAGE_FILES_MAX per message; their type is read from their content.
    MESSAGE_FILES_DIR = os.environ.get("MESSAGE_FILES_DIR", str(BASE_DIR / "instance" / "message-files"))
    MESSAGE_FILE_MAX_BYTES = int(os.environ.get("MESSAGE_FILE_MAX_BYTES", str(10 * 1024 * 1024)))
    MESSAGE_FILES_MAX = int(os.environ.get("MESSAGE_FILES_MAX", "5"))
    # The address the app is reached at (https://desk.example.org), for links in mails that
    # tasks write (the hourly digest); without it those mails carry no link.
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "")
    # The hourly digest's claims that were never stamped are released after this long.
    MESSAGE_DIGEST_CLAIM_SECONDS = int(os.environ.get("MESSAGE_DIGEST_CLAIM_SECONDS", "3600"))

    # Mail (backoffice/tasks/mail.py): every mail is queued in the outbox table and sent by the
    # `mail.send` task. Without MAIL_SERVER (the embedded default) mails are written as .eml
    # files to MAIL_OUTBOX_DIR and shown to staff on the Desk's "Outbox" page.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "") == "1"
    MAIL_USE_SSL = os.environ.get("MAIL_USE_SSL", "") == "1"
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "10"))
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Partnerdesk <noreply@partnerdesk.local>")
    MAIL_MESSAGE_ID_DOMAIN = os.environ.get("MAIL_MESSAGE_ID_DOMAIN", "partnerdesk.local")
    MAIL_OUTBOX_DIR = os.environ.get("MAIL_OUTBOX_DIR", str(BASE_DIR / "instance" / "mail"))
    # A sender's claim on a batch of mails; after it runs out another worker may send them.
    MAIL_CLAIM_SECONDS = int(os.environ.get("MAIL_CLAIM_SECONDS", "300"))
    # Customer portal: how long an e-mailed or shop-issued sign-in link works.
    CUSTOMER_LINK_MINUTES = int(os.environ.get("CUSTOMER_LINK_MINUTES", "15"))
    # Service orders: the VAT rate of their amounts; hours a partner has to answer a request to order.
    SERVICE_ORDER_VAT_RATE = os.environ.get("SERVICE_ORDER_VAT_RATE", "19.00")
    ORDER_REQUEST_ANSWER_HOURS = int(os.environ.get("ORDER_REQUEST_ANSWER_HOURS", "48"))
