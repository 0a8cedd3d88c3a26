"""我的履职 in the mini-program's deputy mode: the deputy's own record, never another's, and a
bad year refused in Chinese."""
from backend.core.timeutil import local_today, utcnow


def test_a_deputy_sees_their_own_record(api, world):
    year = local_today().year
    resp = api.get(f"/deputy/record?year={year}", world.tokens["deputy"])
    assert resp.status_code == 200, resp.json
    body = resp.json
    # The world's one message was written to deputy A today.
    assert (body["deputy_id"], body["year"], body["received"], body["theirs"]) == (
        world.deputy.id, year, 1, 1)
    assert body["median_workdays"] is None and body["participation_rate"] is None
    assert [s["title"] for s in body["sections"]] == ["联系群众", "接待选民日", "代表活动",
                                                      "代表建议", "民生实事项目"]
    # One message theirs, unanswered: answer rates 0; nothing else to judge; no suggestion.
    evaluation = {row["label"]: row["value"] for row in body["evaluation"]}
    assert evaluation["答复率"] == "0.0%（0/1）→ 得 0.0 分（满分 25 分）"
    assert evaluation["活动参与率"].startswith("不计分")
    assert evaluation["合计"].startswith("0.0 分 · 差")
    other = api.get(f"/deputy/record?year={year}", world.tokens["other_deputy"]).json
    assert (other["deputy_id"], other["received"]) == (world.deputy_b.id, 0)


def test_the_year_defaults_to_this_one_and_bad_years_are_refused(api, world):
    assert api.get("/deputy/record", world.tokens["deputy"]).json["year"] == local_today().year
    for bad in ("1999", "abc", str(utcnow().year + 5)):
        resp = api.get(f"/deputy/record?year={bad}", world.tokens["deputy"])
        assert resp.status_code == 422, resp.json
        assert set(resp.json) == {"code", "message", "errors"} and "year" in resp.json["errors"]
        assert "\u4e00" <= resp.json["errors"]["year"][0][0] <= "\u9fff"


def test_residents_and_liaisons_are_refused(api, world):
    for role, status in (("none", 401), ("owner", 403), ("liaison", 403)):
        assert api.get("/deputy/record", world.tokens[role]).status_code == status


def test_a_term_is_counted_over_its_dates_and_an_unknown_term_is_refused(api, world, db):
    from datetime import date, timedelta

    from backend.org.models import Term
    today = local_today()
    past = Term(name="区第四届", starts_on=date(2016, 1, 1), ends_on=date(2020, 12, 31))
    current = Term(name="区第五届", starts_on=today - timedelta(days=30), is_current=True)
    db.session.add_all([past, current])
    db.session.commit()
    body = api.get(f"/deputy/record?term_id={current.id}", world.tokens["deputy"]).json
    assert (body["period"], body["term_id"], body["year"], body["received"]) == (
        "区第五届", current.id, None, 1)
    old = api.get(f"/deputy/record?term_id={past.id}", world.tokens["deputy"]).json
    assert (old["period"], old["received"]) == ("区第四届", 0)  # today's message is not in it
    for bad in ("99999", "0", "x"):
        resp = api.get(f"/deputy/record?term_id={bad}", world.tokens["deputy"])
        assert resp.status_code == 422 and "term_id" in resp.json["errors"], resp.json
        assert "\u4e00" <= resp.json["errors"]["term_id"][0][0] <= "\u9fff"


def test_only_published_quarters_reach_the_deputy(api, world, db):
    from backend.records.evaluation_model import EvaluationPublication
    year = local_today().year - 1
    assert api.get(f"/deputy/record?year={year}", world.tokens["deputy"]).json["quarters"] == []
    db.session.add(EvaluationPublication(year=year, quarter=2))
    db.session.commit()
    (q,) = api.get(f"/deputy/record?year={year}", world.tokens["deputy"]).json["quarters"]
    assert q["quarter"] == 2 and q["label"] == f"{year}年第2季度（1月至6月）"
    # Nothing happened that year but the suggestion count, which has a target: 0 of 2.
    assert (q["score"], q["band"]) == (0.0, "差")
