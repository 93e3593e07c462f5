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
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-secret-key-change-me-in-production-0123456789")
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
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"

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
