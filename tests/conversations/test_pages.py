"""The pages: a customer writes from a partner's profile with a file, the partner's colleague
answers, tags and filters; blocking; staff read reported conversations only."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from backoffice.models import AddressType, Conversation, StaffRead
from tests.conversations.test_messages import PDF, PNG
from tests.portal.test_walk import signed_in
from tests.support.directory import category, published_partner
from tests.support.http import csrf_token, login


def _post(client, path, data, page=None, **kw):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page or path)}, **kw)


def test_a_customer_writes_with_a_file_and_the_colleague_answers_tags_and_filters(app, make, ctx):
    design = category("Design", "Design")
    schulz = published_partner(make, "schulz", design, display_name="Schulz Design")
    make.team_member(schulz, "kollegin")
    anna = make.address(
        type=AddressType.customer, first_name="Anna", last_name="Becker", email="anna@example.org"
    )
    service_id = schulz_service = ctx.execute(
        sa.text("SELECT id FROM service WHERE partner_id = :p"), {"p": schulz.id}
    ).scalar()
    profile = app.test_client().get(f"/directory/partner/{schulz.id}").get_data(as_text=True)
    assert f"/c/conversations/new/{schulz.id}?service={schulz_service}" in profile

    customer = signed_in(app, anna)
    form = f"/c/conversations/new/{schulz.id}?service={service_id}"
    assert f'<option value="{service_id}" selected>' in customer.get(form).get_data(as_text=True)
    refused = _post(
        customer,
        form,
        {
            "requirements": "",
            "body": "Hallo",
            "service_id": str(service_id),
            "files": (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 300), "angebot.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "Beschreiben Sie, was zu tun ist." in page
    assert "angebot.pdf kann nicht gesendet werden" in page
    sent = _post(
        customer,
        form,
        {
            "requirements": "Ein Logo",
            "body": "Hallo, anbei das Briefing.",
            "service_id": str(service_id),
            "store_name": "Ladenglück",
            "files": (io.BytesIO(PDF), "briefing.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    conversation_id = int(sent.headers["Location"].rstrip("/").split("/")[-1])

    colleague = login(app.test_client(), "kollegin")
    listing = colleague.get("/my/conversations/").get_data(as_text=True)
    assert f'data-conversation="{conversation_id}" data-unread="1"' in listing
    show = colleague.get(f"/my/conversations/{conversation_id}").get_data(as_text=True)
    assert "Hallo, anbei das Briefing." in show and "Ladenglück" in show
    file_id = re.search(r"/my/conversations/files/(\d+)", show).group(1)
    download = colleague.get(f"/my/conversations/files/{file_id}")
    assert (download.status_code, download.data, download.mimetype) == (200, PDF, "application/pdf")
    assert 'data-unread="1"' not in colleague.get("/my/conversations/").get_data(as_text=True)
    owner = login(app.test_client(), "schulz")
    assert 'data-unread="1"' in owner.get("/my/conversations/").get_data(as_text=True)

    path = f"/my/conversations/{conversation_id}"
    assert (
        _post(
            colleague,
            f"{path}/reply",
            {"body": "Gern, hier ein Entwurf.", "files": (io.BytesIO(PNG), "entwurf.png")},
            page=path,
            content_type="multipart/form-data",
        ).status_code
        == 302
    )
    _post(colleague, "/my/conversations/tags", {"name": "Logo"})
    tag_id = re.search(
        r'data-tag="(\d+)"', colleague.get("/my/conversations/tags").get_data(as_text=True)
    ).group(1)
    _post(colleague, f"{path}/tags", {"tag_id": tag_id}, page=path)
    tagged = colleague.get(f"/my/conversations/?tag={tag_id}").get_data(as_text=True)
    assert f'data-conversation="{conversation_id}"' in tagged
    assert f'data-conversation="{conversation_id}"' in colleague.get(
        "/my/conversations/?q=Briefing"
    ).get_data(as_text=True)
    assert "Keine Unterhaltungen gefunden." in colleague.get("/my/conversations/?q=Steuer").get_data(
        as_text=True
    )

    answer = customer.get(f"/c/conversations/{conversation_id}").get_data(as_text=True)
    assert "Gern, hier ein Entwurf." in answer
    partner_file = re.search(r"/c/conversations/files/(\d+)", answer.split("Gern, hier")[1]).group(1)
    assert customer.get(f"/c/conversations/files/{partner_file}").data == PNG
    # The portal's session is no Desk login: the partner's URL asks for a Desk sign-in.
    own_url = f"/my/conversations/files/{partner_file}"
    refused = customer.get(own_url)
    assert (refused.status_code, refused.headers["Location"]) == (302, f"/login/?next=http://localhost{own_url}")

    not_confirmed = _post(owner, f"{path}/block", {"reason": "Spam"}, page=path, follow_redirects=True)
    assert "Bestätigen Sie, dass der Kunde endgültig gesperrt wird." in not_confirmed.get_data(as_text=True)
    _post(owner, f"{path}/block", {"reason": "Spam", "confirm": "1"}, page=path)
    blocked = _post(
        customer,
        f"/c/conversations/{conversation_id}",
        {"body": "Hallo?"},
        page=f"/c/conversations/{conversation_id}",
    )
    assert blocked.status_code == 422
    assert "Dieser Partner nimmt keine Nachrichten von Ihnen an." in blocked.get_data(as_text=True)
    assert ctx.get(Conversation, conversation_id) is not None


def test_staff_read_only_reported_conversations_and_each_read_is_logged(app, make, ctx):
    design = category("Design", "Design")
    schulz = published_partner(make, "schulz", design)
    anna = make.address(type=AddressType.customer, first_name="Anna", last_name="Becker")
    make.user("staffer", "Staff")
    customer = signed_in(app, anna)
    sent = _post(customer, f"/c/conversations/new/{schulz.id}", {"requirements": "Logo", "body": "Du Idiot"})
    conversation_id = int(sent.headers["Location"].rstrip("/").split("/")[-1])
    staff = login(app.test_client(), "staffer")
    assert staff.get(f"/desk/reported-conversations/{conversation_id}").status_code == 404
    _post(
        customer,
        f"/c/conversations/{conversation_id}/report",
        {"reason": "Ich wurde beleidigt"},
        page=f"/c/conversations/{conversation_id}",
    )
    assert "Becker" in staff.get("/desk/reported-conversations/").get_data(as_text=True)
    page = staff.get(f"/desk/reported-conversations/{conversation_id}").get_data(as_text=True)
    assert "Du Idiot" in page and "Ich wurde beleidigt" in page
    assert ctx.scalar(sa.select(sa.func.count()).select_from(StaffRead)) == 1
    partner = login(app.test_client(), "schulz")
    assert partner.get("/desk/reported-conversations/").status_code == 403


def test_the_customer_pages_speak_english(app, make):
    design = category("Design", "Design")
    schulz = published_partner(make, "schulz", design, display_name="Schulz Design")
    anna = make.address(type=AddressType.customer, first_name="Anna", last_name="Becker")
    customer = signed_in(app, anna)
    customer.get("/c/language/en")
    page = customer.get(f"/c/conversations/new/{schulz.id}").get_data(as_text=True)
    assert "Write to Schulz Design" in page and 'lang="en"' in page
    assert "You have not written to a partner yet." in customer.get("/c/conversations/").get_data(
        as_text=True
    )


def test_a_files_size_reads_as_a_german_number(app, make, ctx):
    design = category("Design", "Design")
    schulz = published_partner(make, "schulz", design, display_name="Schulz Design")
    anna = make.address(type=AddressType.customer, first_name="Anna", last_name="Becker",
                        email="anna@example.org")
    customer = signed_in(app, anna)
    form = f"/c/conversations/new/{schulz.id}"
    briefing = PDF + b"\n" * (1536 - len(PDF))  # 1.5 KB
    sent = _post(customer, form, {"requirements": "Ein Logo", "body": "Anbei das Briefing.",
                                  "files": (io.BytesIO(briefing), "briefing.pdf")},
                 content_type="multipart/form-data")
    assert sent.status_code == 302
    partner = login(app.test_client(), "schulz")
    conversation_id = sent.headers["Location"].rstrip("/").split("/")[-1]
    assert "(1,5 KB)" in partner.get(f"/my/conversations/{conversation_id}").get_data(as_text=True)
