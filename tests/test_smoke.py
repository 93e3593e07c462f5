from tests.conftest import login


def test_staff_sees_address_list_after_login(client, make):
    make.user("staff", "Staff")
    make.address(last_name="Unverwechselbar")
    login(client, "staff")
    page = client.get("/addressview/list/")
    assert page.status_code == 200
    assert "Unverwechselbar" in page.get_data(as_text=True)
