"""Benchmark conversations and messages; prints one JSON object per line.

    python -m benchmarks.messages
    python -m benchmarks.messages --database postgresql://postgres@127.0.0.1/pd_bench
    python -m benchmarks.messages --only list --conversations 50000

The database is WIPED (SQLite: a temporary file; PostgreSQL: schema public is dropped) and
migrated. Each section seeds its own rows (own partner ids) and prints its figures; a new
section is one function added to `SECTIONS`.

- `list`: one partner with `--conversations` conversations (two messages each, ten team
  tags, a third of them unread for the member), and a thousand conversations of other
  partners. Timed, warm, server side: `services.conversation_inbox.conversations` filtered
  by a tag and unread and searched by a word of the messages (p95 over `--repeat`), against
  `raw_sql_list_p95` (the `baseline`): the same list written by hand as one statement.
- `digest`: `--partners` partners with `--unread` unread customer messages in the last hour
  (two conversations each). Timed: the whole digest task (`tasks.messages.run_digest`:
  release, claim, queue and stamp); then the same task again, which must queue 0 mails.

Fields: metric, value, unit, backend, target, met, baseline, ratio, and the sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from benchmarks.seed import _fresh_postgres, _fresh_sqlite, _sqlalchemy_url

TARGETS = {"conversation_list_p95": 50, "digest_seconds": 30, "digest_rerun_mails": 0}
NOW = datetime(2026, 11, 3, 10, 5, tzinfo=UTC)
WORDS = [
    "Logo",
    "Shopify",
    "Rechnung",
    "Versandkosten",
    "Produktbilder",
    "Newsletter",
    "Steuer",
    "Zahlungsarten",
    "Gutschein",
    "Übersetzung",
    "Suchmaschine",
    "Datenschutz",
    "Impressum",
    "Lieferzeiten",
    "Retouren",
    "Kategorien",
    "Schriftart",
    "Farben",
    "Startseite",
    "Warenkorb",
]


def emit(metric, value, unit, backend, baseline=None, **extra):
    line = {
        "metric": metric,
        "value": round(value, 3) if isinstance(value, float) else value,
        "unit": unit,
        "backend": backend,
    }
    target = TARGETS.get(metric)
    if target is not None:
        line.update(target=target, met=value <= target)
    if baseline is not None:
        line.update(baseline=round(baseline, 3), ratio=round(value / baseline, 2) if baseline else None)
    line.update(extra)
    line["load"] = round(os.getloadavg()[0], 2)
    print(json.dumps(line), flush=True)


def p95(fn, inputs) -> float:
    fn(*inputs[0])  # warm
    times = []
    for args in inputs:
        started = time.perf_counter()
        fn(*args)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def insert_partners(session, first_id: int, n: int, *, customers: bool = False) -> list[int]:
    """Minimal addresses (partners or customers) and, for partners, their partner rows."""
    from backoffice.models import Address, AddressType, Language, Partner, RegistrationSource

    ids = list(range(first_id, first_id + n))
    for start in range(0, n, 20_000):
        chunk = ids[start : start + 20_000]
        session.execute(
            sa.insert(Address.__table__),
            [
                {
                    "id": i,
                    "type": AddressType.customer if customers else AddressType.partner,
                    "first_name": "Erika",
                    "last_name": f"Kunde{i}" if customers else f"Betrieb{i}",
                    "country": "DE",
                    "language": Language.de,
                    "registration_source": RegistrationSource.desk,
                    "registered_at": NOW,
                    "firstline_count": 0,
                    "downline_count": 0,
                    "consent_contact_by_sponsor": False,
                    "consent_marketing": False,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i in chunk
            ],
        )
        if not customers:
            session.execute(
                sa.insert(Partner.__table__),
                [
                    {
                        "id": i,
                        "address_id": i,
                        "subdomain": f"betrieb{i}",
                        "time_zone": "Europe/Berlin",
                        "notification_email": f"betrieb{i}@example.org",
                        "available": True,
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                    for i in chunk
                ],
            )
    return ids


class Ids:
    """Explicit ids for the bulk rows (each section takes its own range)."""

    def __init__(self, first: int):
        self.next = first

    def take(self, n: int) -> range:
        taken = range(self.next, self.next + n)
        self.next += n
        return taken


def insert_conversations(session, rows: list[dict], messages: list[dict]) -> None:
    from backoffice.models import Conversation, Message

    for start in range(0, len(rows), 10_000):
        session.execute(sa.insert(Conversation.__table__), rows[start : start + 10_000])
    for start in range(0, len(messages), 10_000):
        session.execute(sa.insert(Message.__table__), messages[start : start + 10_000])


def conversation_row(
    cid: int, partner_id: int, customer_id: int, at: datetime, last_customer: int, rng: random.Random
) -> dict:
    return {
        "id": cid,
        "partner_id": partner_id,
        "customer_id": customer_id,
        "service_id": None,
        "store_name": f"Laden {rng.choice(WORDS)} {cid}",
        "store_url": f"https://shop{cid}.example",
        "requirements": "Ein Shop",
        "contact_name": f"Erika Kunde{customer_id}",
        "created_at": at,
        "last_message_at": at,
        "last_message_by": "customer",
        "last_customer_message_id": last_customer,
    }


def message_row(mid: int, cid: int, at: datetime, body: str, *, digested: bool) -> dict:
    return {
        "id": mid,
        "conversation_id": cid,
        "sender": "customer",
        "author_user_id": None,
        "body": body,
        "created_at": at,
        "digested_at": at if digested else None,
    }


def analyze(session, backend: str) -> None:
    from backoffice.extensions import db

    session.commit()
    if backend == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as vacuum:
            for table in ("conversation", "message", "conversation_read", "conversation_tagging", "address"):
                vacuum.execute(sa.text(f"VACUUM ANALYZE {table}"))
    else:
        session.execute(sa.text("ANALYZE"))
        session.commit()


def section_list(app, session, backend: str, args) -> None:
    from backoffice.models import ConversationRead, ConversationTag, ConversationTagging
    from backoffice.services import conversation_inbox as inbox

    rng = random.Random(7)
    n = args.conversations
    partner_id, other_id = insert_partners(session, 1, 2)
    customers = insert_partners(session, 1_000_000, max(n // 10, 10), customers=True)
    user = app.appbuilder.sm.add_user(
        "bench-member",
        "Bench",
        "Member",
        "bench@example.org",
        app.appbuilder.sm.find_role("Partner"),
        "bench-member-pw",
    )
    conversation_ids, message_ids = Ids(1), Ids(1)
    rows, messages, reads, tagged = [], [], [], []
    started = time.perf_counter()
    for index in range(n + 1000):
        owner = partner_id if index < n else other_id
        cid = conversation_ids.take(1)[0]
        at = NOW - timedelta(days=30) + timedelta(seconds=index * 40)
        first, second = message_ids.take(2)
        for mid, offset in ((first, 0), (second, 60)):
            body = f"Hallo, es geht um {rng.choice(WORDS)} und {rng.choice(WORDS)} für den Shop."
            messages.append(message_row(mid, cid, at + timedelta(seconds=offset), body, digested=True))
        rows.append(
            conversation_row(cid, owner, rng.choice(customers), at + timedelta(seconds=60), second, rng)
        )
        if rng.random() < 2 / 3:
            reads.append(
                {"conversation_id": cid, "user_id": user.id, "read_message_id": second, "read_at": NOW}
            )
    insert_conversations(session, rows, messages)
    tags = [ConversationTag(partner_id=partner_id, name=f"Schlagwort {k}") for k in range(10)]
    session.add_all(tags)
    session.flush()
    for row in rows[:n]:
        for tag in rng.sample(tags, rng.choice((0, 1, 1, 2))):
            tagged.append({"conversation_id": row["id"], "tag_id": tag.id})
    for start in range(0, len(reads), 10_000):
        session.execute(sa.insert(ConversationRead.__table__), reads[start : start + 10_000])
    for start in range(0, len(tagged), 10_000):
        session.execute(sa.insert(ConversationTagging.__table__), tagged[start : start + 10_000])
    analyze(session, backend)
    emit("conversation_list_seed_seconds", time.perf_counter() - started, "s", backend, conversations=n)

    inputs = [(rng.choice(tags).id, rng.choice(WORDS)) for _ in range(args.repeat)]
    found = []

    def listed(tag_id, word):
        found.append(
            len(inbox.conversations(session, partner_id, user.id, tag_id=tag_id, unread=True, search=word))
        )
        session.rollback()

    if backend == "postgresql":
        text_match = (
            "c.id IN (SELECT m.conversation_id FROM message m WHERE "
            "to_tsvector('german', m.body) @@ to_tsquery('german', :word || ':*')) OR "
            "(coalesce(c.contact_name, '') || ' ' || coalesce(c.store_name, '') || ' ' || "
            "coalesce(c.store_url, '')) ILIKE '%' || :word || '%'"
        )
    else:
        text_match = (
            "c.id IN (SELECT m.conversation_id FROM message m WHERE m.id IN "
            "(SELECT rowid FROM message_fts WHERE message_fts MATCH '\"' || :word || '\"')) OR "
            "c.id IN (SELECT rowid FROM conversation_fts WHERE conversation_fts MATCH "
            "'\"' || :word || '\"')"
        )
    raw = sa.text(
        "SELECT c.id, c.contact_name, c.store_name, c.store_url, c.last_message_at FROM conversation c "
        "LEFT JOIN conversation_read r ON r.conversation_id = c.id AND r.user_id = :user "
        "WHERE c.partner_id = :partner AND (r.read_message_id IS NULL OR r.read_message_id < "
        "c.last_customer_message_id) AND EXISTS (SELECT 1 FROM conversation_tagging t WHERE "
        f"t.conversation_id = c.id AND t.tag_id = :tag) AND ({text_match}) "
        "ORDER BY c.last_message_at DESC, c.id DESC LIMIT 51"
    )

    def raw_list(tag_id, word):
        session.connection().execute(
            raw, {"user": user.id, "partner": partner_id, "tag": tag_id, "word": word}
        ).all()
        session.rollback()

    baseline = p95(raw_list, inputs)
    value = p95(listed, inputs)
    found.sort()
    emit(
        "conversation_list_p95",
        value,
        "ms",
        backend,
        baseline=baseline,
        conversations=n,
        median_rows=found[len(found) // 2],
        repeat=args.repeat,
    )


def section_digest(app, session, backend: str, args) -> None:
    from backoffice.models import OutboxMail
    from backoffice.tasks.messages import run_digest

    rng = random.Random(11)
    partners = insert_partners(session, 10_000_000, args.partners)
    customers = insert_partners(session, 20_000_000, max(args.partners // 5, 10), customers=True)
    conversation_ids, message_ids = Ids(10_000_000), Ids(10_000_000)
    per_partner = max(args.unread // args.partners, 1)
    rows, messages = [], []
    for partner_id in partners:
        cids = list(conversation_ids.take(2))
        for k in range(per_partner):
            cid = cids[k % 2]
            at = NOW.replace(minute=0) - timedelta(minutes=59) + timedelta(seconds=rng.randrange(3500))
            messages.append(
                message_row(
                    message_ids.take(1)[0], cid, at, f"Eine Frage zu {rng.choice(WORDS)}.", digested=False
                )
            )
        for cid in cids:
            rows.append(
                conversation_row(
                    cid,
                    partner_id,
                    rng.choice(customers),
                    NOW - timedelta(minutes=1),
                    messages[-1]["id"],
                    rng,
                )
            )
    insert_conversations(session, rows, messages)
    analyze(session, backend)
    run_at = NOW.replace(minute=5)
    started = time.perf_counter()
    first = run_digest(session, now=run_at)
    seconds = time.perf_counter() - started
    emit(
        "digest_seconds",
        seconds,
        "s",
        backend,
        partners=args.partners,
        unread=len(messages),
        mails=first["mails"],
        claimed=first["claimed"],
    )
    started = time.perf_counter()
    again = run_digest(session, now=run_at)
    emit(
        "digest_rerun_mails",
        again["mails"],
        "mails",
        backend,
        seconds=round(time.perf_counter() - started, 3),
    )
    mails = session.scalar(
        sa.select(sa.func.count()).select_from(OutboxMail).where(OutboxMail.kind == "conversation_digest")
    )
    assert mails == first["mails"] == args.partners, (mails, first)


# name → function(app, session, backend, args); sections run in this order.
SECTIONS = {"list": section_list, "digest": section_digest}


def run(args) -> None:
    from flask_migrate import upgrade

    from app import create_app
    from backoffice.extensions import db

    tmpdir = tempfile.TemporaryDirectory(prefix="pd-bench-messages-")
    url = _sqlalchemy_url(args.database or f"sqlite:///{Path(tmpdir.name) / 'messages.db'}")
    backend = "postgresql" if url.get_backend_name() == "postgresql" else "sqlite"
    (_fresh_postgres if backend == "postgresql" else _fresh_sqlite)(url)
    print(f"benchmarks.messages: {', '.join(args.only)} on {backend}", file=sys.stderr)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
            "TASKS_QUEUE_URL": f"sqlite:///{Path(tmpdir.name) / 'queue.sqlite'}",
            "MAIL_SEND_AFTER_COMMIT": False,
            "SECRET_KEY": "benchmark-only",
            "MESSAGE_FILES_DIR": str(Path(tmpdir.name) / "files"),
        }
    )
    with app.app_context():
        upgrade(revision="heads")
        for name in args.only:
            SECTIONS[name](app, db.session, backend, args)
            db.session.commit()
    tmpdir.cleanup()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), default=list(SECTIONS))
    parser.add_argument("--conversations", type=int, default=50_000, help="list: one partner's conversations")
    parser.add_argument("--repeat", type=int, default=200, help="list: timed lists per figure")
    parser.add_argument("--partners", type=int, default=10_000, help="digest: partners with unread messages")
    parser.add_argument(
        "--unread", type=int, default=100_000, help="digest: unread messages of the last hour"
    )
    parser.add_argument("--database", help="SQLAlchemy URL (WIPED); default: a temporary SQLite file")
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
