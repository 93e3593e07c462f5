"""The Content-Security-Policy blocks nothing the Desk needs: Chromium reports no violation
on the pages that run scripts (lists with search, show and edit forms, API docs)."""

from __future__ import annotations

from .conftest import log_in


def test_desk_pages_run_under_the_policy(page, make):
    make.user("staff", "Staff")
    address = make.address(last_name="Skriptfrei")
    violations = []
    page.on("console", lambda msg: violations.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    log_in(page, "staff")
    for url in ["/addressview/list/", f"/addressview/show/{address.id}", f"/addressview/edit/{address.id}",
                "/addressview/add", "/desk/privacy/", "/swagger/v1", "/desk/downline/"]:
        page.goto(url)
        page.wait_for_load_state("networkidle")
    assert violations == []
