"""The demo shows every voucher feature with something in it, and nothing in the future."""

from datetime import UTC, datetime

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select

from backoffice.demo import (
    bulk_insert,
    seed_articles,
    seed_imports,
    seed_logins,
    seed_public_profiles,
    seed_vouchers_and_orders,
)
from backoffice.demo_conversations import seed_demo_work
from backoffice.models import (
    Address,
    AddressType,
    Conversation,
    ConversationRead,
    ConversationTagging,
    CustomerAccount,
    ExpertJob,
    ImportRun,
    ImportStatus,
    Invoice,
    InvoiceKind,
    JobAssignment,
    JobStatus,
    JobTransition,
    Message,
    Offer,
    OfferState,
    Order,
    OrderRequest,
    Partner,
    Redemption,
    RequestState,
    ServiceOrder,
    ServiceOrderEvent,
    Voucher,
    VoucherCode,
    VoucherKind,
)
from backoffice.transaction import unit_of_work


def test_demo_has_vouchers_codes_orders_invoices_and_a_cancellation_all_in_the_past(app, ctx, ids_high_again):
    bulk_insert(ctx, 600)
    seed_articles(ctx)
    seed_logins(ctx, app.appbuilder.sm)
    placed = seed_vouchers_and_orders(ctx, orders=12)
    assert placed >= 10
    def count(query):
        return ctx.execute(query).scalar()

    assert {v.kind for v in ctx.execute(select(Voucher)).scalars()} == set(VoucherKind)
    owned = VoucherCode.owner_partner_id.is_not(None)
    assert count(select(func.count()).select_from(VoucherCode).where(owned)) == 2
    assert count(select(func.count()).select_from(Redemption)) >= 8
    cancellations = Invoice.kind == InvoiceKind.cancellation
    assert count(select(func.count()).select_from(Invoice).where(cancellations)) == 1
    now = datetime.now(UTC)
    assert count(select(func.max(Order.placed_at))) < now
    assert count(select(func.max(Address.first_order_at))) < now
    too_early = Address.first_order_at < Address.registered_at
    assert count(select(func.count()).select_from(Address).where(too_early)) == 0
    assert seed_vouchers_and_orders(ctx) == 0  # once only


def test_demo_has_conversations_jobs_orders_and_offers_all_in_the_past_and_some_for_the_demo_partner(
        app, ctx, ids_high_again):
    bulk_insert(ctx, 600)
    seed_logins(ctx, app.appbuilder.sm)
    with unit_of_work() as session:
        seed_public_profiles(session, limit=50)
        seeded = seed_demo_work(session)
    assert seeded.conversations == 20 and seeded.jobs == 15 and seeded.orders >= 10
    assert seeded.open_offers >= 3 and seeded.requests == 1

    def count(model, *where):
        return ctx.scalar(select(func.count()).select_from(model).where(*where))

    demo = ctx.scalar(select(Partner).join(User, User.id == Partner.user_id).where(User.username == "meier"))
    assert count(Conversation) >= 20 and count(Message) >= 40
    assert count(ConversationTagging) == 1
    statuses = set(ctx.scalars(select(JobAssignment.status).distinct()))
    assert {JobStatus.new, JobStatus.replied, JobStatus.awaiting_response, JobStatus.completed,
            JobStatus.expired} <= statuses
    assert len(set(ctx.scalars(select(ServiceOrder.status).distinct()))) >= 5
    assert count(Offer, Offer.state == OfferState.open) >= 3
    assert count(OrderRequest, OrderRequest.state == RequestState.pending) == 1
    now = datetime.now(UTC)
    for column in (Conversation.created_at, Message.created_at, ExpertJob.created_at,
                   JobAssignment.status_changed_at, JobTransition.at, ServiceOrder.created_at,
                   ServiceOrderEvent.at, Offer.created_at, OrderRequest.created_at):
        assert ctx.scalar(select(func.max(column))) < now, column
    # The demo partner login sees some of each.
    assert count(Conversation, Conversation.partner_id == demo.id) >= 5
    unread = [c for c in ctx.scalars(select(Conversation).where(Conversation.partner_id == demo.id))
              if ctx.scalar(select(ConversationRead.read_message_id).where(
                  ConversationRead.conversation_id == c.id, ConversationRead.user_id == demo.user_id))
              != ctx.scalar(select(func.max(Message.id)).where(Message.conversation_id == c.id))]
    assert len(unread) >= 2
    assert len(set(ctx.scalars(select(JobAssignment.status).where(JobAssignment.partner_id == demo.id)))) >= 4
    assert count(ServiceOrder, ServiceOrder.partner_id == demo.id) >= 4
    assert count(Offer, Offer.partner_id == demo.id, Offer.state == OfferState.open) >= 1
    assert count(OrderRequest, OrderRequest.partner_id == demo.id) == 1
    customers = set(ctx.scalars(select(Conversation.customer_id)))
    assert customers <= set(ctx.scalars(select(CustomerAccount.address_id)))
    assert seed_demo_work(ctx).conversations == 0  # once only
    ctx.rollback()


def test_demo_has_an_import_history_with_an_imported_file_and_a_refused_one(app, ctx, ids_high_again):
    bulk_insert(ctx, 600)
    assert seed_imports(ctx) == 3
    runs = [(r.file_name, r.dry_run, r.status, r.created, r.error_count)
            for r in ctx.scalars(select(ImportRun).order_by(ImportRun.id))]
    assert runs == [("neue-adressen.csv", True, ImportStatus.checked, 3, 0),
                    ("neue-adressen.csv", False, ImportStatus.imported, 3, 0),
                    ("adressen-mit-fehler.csv", True, ImportStatus.rejected, 0, 1)]
    imported = {a.external_key: a
                for a in ctx.scalars(select(Address).where(Address.external_key.like("IMP-%")))}
    assert sorted(imported) == ["IMP-1", "IMP-2", "IMP-3"]
    assert imported["IMP-3"].type == AddressType.customer
    assert max(a.registered_at for a in imported.values()) < datetime.now(UTC)
    assert seed_imports(ctx) == 0  # once only


def test_the_demo_partner_login_has_charged_requests_with_receipts(app, ctx, ids_high_again):
    from backoffice.demo_marketplace import seed_marketplace
    from backoffice.models import DirectRequest, DirectStatus, LeadCharge

    bulk_insert(ctx, 600)
    seed_logins(ctx, app.appbuilder.sm)
    with unit_of_work() as session:
        seed_public_profiles(session, limit=50)
    with unit_of_work() as session:
        seed_marketplace(session)
    demo = ctx.scalar(select(Partner).join(User, User.id == Partner.user_id).where(User.username == "meier"))
    charges = ctx.scalars(select(LeadCharge).where(LeadCharge.partner_id == demo.id)).all()
    assert len(charges) >= 2
    assert all(c.charged_at < datetime.now(UTC) for c in charges)
    assert ctx.scalar(select(func.count()).select_from(DirectRequest).where(
        DirectRequest.partner_id == demo.id, DirectRequest.status != DirectStatus.new)) >= 1
    ctx.rollback()
