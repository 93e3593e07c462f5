"""Batch commands: `flask partnerdesk ...` for set-up, `flask demo seed` for demo data."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import func, select
from tqdm import tqdm

from .audit import acting_as
from .demo import (
    bulk_insert,
    seed_articles,
    seed_imports,
    seed_logins,
    seed_public_profiles,
    seed_vouchers_and_orders,
)
from .demo_conversations import seed_demo_work
from .demo_marketplace import seed_marketplace
from .extensions import db
from .models import Address, DirectRequest
from .services import marketplace, monthly_invoice
from .services.billing import Period
from .services.vouchers import company_today
from .tasks.billing import submit_rendering
from .transaction import unit_of_work

partnerdesk_cli = AppGroup("partnerdesk", help="Set up and maintain Partnerdesk.")
billing_cli = AppGroup("billing", help="Partners' monthly invoices.")
marketplace_cli = AppGroup("marketplace", help="The pay-per-request marketplace.")
demo_cli = AppGroup("demo", help="Demo data.")


def init_roles() -> None:
    """Create FAB's roles (Admin, Public and ours) and sync view permissions to the database."""
    appbuilder = current_app.appbuilder
    current_app.config["FAB_CREATE_DB"] = True
    try:
        appbuilder.sm.create_db()
    finally:
        current_app.config["FAB_CREATE_DB"] = False
    appbuilder.add_permissions(update_perms=True)
    for name in current_app.config["FAB_ROLES"]:
        appbuilder.sm.add_role(name)


@partnerdesk_cli.command("init")
def init_command():
    """Create roles and permissions (run after `flask db upgrade`)."""
    init_roles()
    click.echo("Roles and permissions are in place.")


@partnerdesk_cli.command("setup")
@click.option("--addresses", default=3000, show_default=True,
              help="Demo addresses to generate when the database is empty.")
def setup_command(addresses):
    """Migrate, create roles and, on an empty database, seed demo data and logins."""
    upgrade(revision="heads")
    init_roles()
    if db.session.execute(select(func.count()).select_from(Address)).scalar():
        click.echo("Database already has addresses; demo data not seeded again.")
        return
    _seed(addresses)


def _seed(addresses: int) -> None:
    started = time.perf_counter()
    with tqdm(total=addresses, unit="addr", desc="demo addresses", disable=None) as bar, \
            unit_of_work() as session:
        result = bulk_insert(session, addresses, progress=bar.update)
    elapsed = time.perf_counter() - started
    with unit_of_work() as session:
        seed_articles(session)
        logins = seed_logins(session, current_app.appbuilder.sm)
    orders = seed_vouchers_and_orders(db.session)
    imported = seed_imports(db.session)
    with unit_of_work() as session:
        profiles, services = seed_public_profiles(session)
    with unit_of_work() as session, acting_as("demo"):
        bids, charges = seed_marketplace(session)
    with unit_of_work() as session, acting_as("demo"):
        work = seed_demo_work(session)
    click.echo(
        f"Seeded {result.addresses} addresses ({result.partners} partners, depth "
        f"{result.max_depth}, largest firstline {result.largest_firstline}) in {elapsed:.1f} s; "
        f"{profiles} published profiles with {services} services."
    )
    click.echo(f"Seeded vouchers, partner codes and {orders} orders; {bids} bids and {charges} "
               f"charged requests; {imported} import runs.")
    click.echo(f"Seeded {work.conversations} conversations ({work.messages} messages), {work.jobs} jobs "
               f"in {work.job_statuses} statuses, {work.orders} service orders, {work.open_offers} open "
               f"offers and {work.requests} request to order.")
    click.echo("Demo logins: " + ", ".join(f"{u}/{p} ({r})" for u, p, r in logins))


@demo_cli.command("seed")
@click.option("--addresses", default=3000, show_default=True, type=click.IntRange(3, 10_000_000))
def seed_command(addresses):
    """Generate a realistic demo tree, articles and demo logins (into an empty database)."""
    init_roles()
    try:
        _seed(addresses)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc



@billing_cli.command("run")
@click.option("--period", help="The month to bill, YYYY-MM (default: the previous month).")
@click.option("--dry-run", is_flag=True, help="Show what would be billed; write nothing.")
def billing_run_command(period, dry_run):
    """Bill every partner with something to bill for the month; safe to run again."""
    today = company_today()
    month = Period.parse(period) if period else Period.before(today)
    with tqdm(unit="partner", desc=f"billing {month.start:%Y-%m}", disable=None) as bar:
        def progress(done, total):
            bar.total = total
            bar.update(done - bar.n)

        result = monthly_invoice.run(db.session, month, today, current_app.config["PARTNER_INVOICE_DUE_DAYS"],
                                     dry_run=dry_run, progress=progress)
    if dry_run:
        for partner_id, items, net in result.planned:
            click.echo(f"partner {partner_id}: {items} items, {net} EUR net")
        click.echo(f"{result.partners} partners would be billed for {month.start:%Y-%m} (dry run).")
    else:
        click.echo(f"{month.start:%Y-%m}: {len(result.written)} invoices written, "
                   f"{len(result.skipped)} partners billed before.")
        submit_rendering(result.written)


@marketplace_cli.command("recount")
def recount_command():
    """Set each partner's kept monthly counts of direct requests (the ranking's
    responsiveness input) to what the direct requests say."""
    started = time.perf_counter()
    with unit_of_work() as session:
        total = session.scalar(select(func.count()).select_from(DirectRequest))
        with tqdm(total=total, unit=" direct requests", unit_scale=True, disable=None) as bar:
            result = marketplace.recount_lead_months(session, progress=bar.update)
    click.echo(f"{result.months} partner months counted, {result.changed} kept rows corrected in "
               f"{time.perf_counter() - started:.1f} s.")
