def test_deputy_page_shows_name(client, make_deputy, db):
    from backend.org.codes import active_code
    deputy = make_deputy(name="王建国")
    db.session.commit()
    resp = client.get(f"/d/{active_code(deputy).token}")
    assert resp.status_code == 200
    assert "王建国" in resp.get_data(as_text=True)
