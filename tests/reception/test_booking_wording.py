"""The booking page's cancel hint says "before" once (not 「开始前24小时以前」)."""


def test_the_booking_hint_says_before_once(client, db, appt_world):
    db.session.commit()
    html = client.get(f"/stations/{appt_world.station.id}/book").get_data(as_text=True)
    assert "以前" not in html.split('id="book-hint"')[1].split("</p>")[0]
    assert "最晚在开始前24小时，可以在“我的预约”里取消" in html
