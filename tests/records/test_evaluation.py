"""履职评价: the defaults in code, item by item; the office's changes recomputing every year on read;
a deputy with nothing to judge; bad settings refused in Chinese with nothing changed."""
import pytest

from backend.core.timeutil import local_today
from tests.conftest import post_form
from tests.records.conftest import bj

YEAR = local_today().year
PAGE = "/staff/records/evaluation"


@pytest.fixture
def world(db, make_station, make_deputy, make_staff, add_message, add_reception_day,
          add_activity):
    from datetime import date

    class World:
        pass
    w = World()
    w.station = make_station()
    w.deputy = make_deputy(stations=[w.station], name="王建国")
    w.idle = make_deputy(stations=[w.station], name="闲置代表")
    w.admin = make_staff("admin")
    w.liaison = make_staff("liaison", stations=[w.station])
    jan = bj(YEAR, 1, 5, 9)
    # Two messages theirs, one answered on time and rated 满意.
    add_message(w.station, to=w.deputy, assigned=w.deputy, at=jan, answered=bj(YEAR, 1, 7, 9),
                ratings=[("satisfied", bj(YEAR, 1, 8, 9))])
    add_message(w.station, to=w.deputy, assigned=w.deputy, at=jan)
    add_reception_day(w.station, date(YEAR, 1, 15), duty=[w.deputy], present=[w.deputy])
    add_activity(at=bj(YEAR, 1, 20, 9), attendances={w.deputy: "attended"})
    db.session.commit()
    return w


def _evaluation(deputy):
    from backend.records.dossier import deputy_record
    from backend.records.evaluation import current_settings, evaluate
    return evaluate(deputy_record(deputy, YEAR), current_settings())


def _form(**over) -> dict:
    data = {"answer_rate_counted": "y", "answer_rate_weight": "25",
            "on_time_rate_counted": "y", "on_time_rate_weight": "15",
            "satisfaction_counted": "y", "satisfaction_weight": "15",
            "reception_counted": "y", "reception_weight": "15",
            "activities_counted": "y", "activities_weight": "20",
            "suggestions_counted": "y", "suggestions_weight": "10", "suggestions_target": "2",
            "good_from": "80", "fair_from": "60"}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def test_the_defaults_score_item_by_item(world):
    ev = _evaluation(world.deputy)
    points = {r.setting.item.key: r.points for r in ev.items}
    # 1/2 answered of 25, 1/2 on time of 15, all the rest full, no suggestion of the 2 targeted.
    assert points == {"answer_rate": 12.5, "on_time_rate": 7.5, "satisfaction": 15,
                      "reception": 15, "activities": 20, "suggestions": 0}
    assert (ev.score, ev.band_label) == (70.0, "较好")


def test_the_page_shows_the_breakdown_not_a_bare_score(client, login, world):
    text = login(world.liaison).get(
        f"/staff/records/deputies/{world.deputy.id}?year={YEAR}").get_data(as_text=True)
    assert "50.0%（1/2）→ 得 12.5 分（满分 25 分）" in text
    assert "0 件，目标 2 件 → 得 0.0 分（满分 10 分）" in text
    assert "70.0 分 · 较好（80 分及以上为好，60–79 分为较好，60 分以下为差）" in text


def test_weights_changed_after_the_fact_are_recomputed(client, login, db, world):
    from backend.core.audit_model import AuditEvent
    assert _evaluation(world.deputy).band == "fair"
    resp = post_form(login(world.admin), PAGE, _form(suggestions_counted=None,
                                                     activities_weight="30"))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    db.session.expire_all()
    ev = _evaluation(world.deputy)
    assert [r.setting.item.key for r in ev.items] == [
        "answer_rate", "on_time_rate", "satisfaction", "reception", "activities"]
    assert (ev.score, ev.band) == (80.0, "good")
    text = client.get(f"/staff/records/deputies/{world.deputy.id}?year={YEAR}").get_data(
        as_text=True)
    assert "80.0 分 · 好" in text and "提出建议" not in text.split("履职评价")[1]
    event = db.session.scalars(db.select(AuditEvent).filter_by(action="evaluation.update")).one()
    assert event.before["items"]["activities"]["weight"] == 20
    assert event.after["items"]["activities"]["weight"] == 30
    # The bands too: 80 is no longer 好 once 好 starts at 85.
    post_form(client, PAGE, _form(suggestions_counted=None, activities_weight="30",
                                  good_from="85"))
    db.session.expire_all()
    assert _evaluation(world.deputy).band_label == "较好"


def test_items_without_data_are_left_out_and_the_rest_scaled(world, db, add_message):
    from backend.records.dossier import deputy_record
    from backend.records.evaluation import current_settings, evaluate, rows
    record = deputy_record(world.deputy, YEAR)
    record.duties_kept = 0  # as if the reception day had no record yet: nothing to judge by
    ev = evaluate(record, current_settings())
    reception = next(r for r in ev.items if r.setting.item.key == "reception")
    assert reception.fraction is None and ev.judged_weight == 85
    assert ev.score == round(55 * 100 / 85, 1)
    assert ("接待日到岗率", "不计分：本年度没有可评价的数据（满分 15 分）") in rows(ev)
    assert "按可评价项目的 85 分折算为百分制" in rows(ev)[-1][1]


def test_a_deputy_with_nothing_scores_zero_not_an_error(client, login, world):
    ev = _evaluation(world.idle)
    assert [r.fraction for r in ev.items] == [None, None, None, None, None, 0.0]
    assert (ev.score, ev.band_label) == (0.0, "差")
    resp = login(world.admin).get(f"/staff/records/deputies/{world.idle.id}?year={YEAR}")
    assert resp.status_code == 200 and "0.0 分 · 差" in resp.get_data(as_text=True)
    # With the count item switched off there is nothing at all to judge: no band is given.
    post_form(client, PAGE, _form(suggestions_counted=None, activities_weight="30"))
    text = client.get(f"/staff/records/deputies/{world.idle.id}?year={YEAR}").get_data(
        as_text=True)
    assert "暂无可评价的数据，不评等次" in text


@pytest.mark.parametrize("over,says", [
    ({"activities_weight": "25"}, "计分项目的分值合计应为 100 分，现在是 105 分"),
    ({"suggestions_counted": None}, "计分项目的分值合计应为 100 分，现在是 90 分"),
    ({"good_from": "60", "fair_from": "80"}, "0 &lt; 较好起点 &lt; 好起点 ≤ 100"),
    ({"answer_rate_weight": "abc"}, "答复率分值应为 0 到 100 之间的整数"),
    ({"answer_rate_weight": "101"}, "答复率分值应为 0 到 100 之间的整数"),
    ({"suggestions_target": "0"}, "提出建议目标件数应为 1 到 1000 之间的整数"),
])
def test_bad_settings_are_refused_and_change_nothing(client, login, db, world, over, says):
    from backend.records.evaluation_model import EvaluationItem, EvaluationSettings
    resp = post_form(login(world.admin), PAGE, _form(**over))
    assert resp.status_code == 422
    assert says in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(EvaluationItem)) == 0
    assert db.session.get(EvaluationSettings, 1) is None
    assert _evaluation(world.deputy).score == 70.0


def test_only_the_office_may_change_the_settings(client, login, db, world):
    from backend.records.evaluation_model import EvaluationItem
    resp = post_form(login(world.liaison), PAGE, _form(), form_url="/staff/")
    assert resp.status_code == 403
    assert db.session.scalar(db.select(db.func.count()).select_from(EvaluationItem)) == 0


def test_the_operation_checks_its_own_input(db, world):
    """A scheduler or CLI calling the operation gets the same refusals as the page."""
    from backend.core.errors import ValidationFailed
    from backend.records.evaluation import update_evaluation
    with pytest.raises(ValidationFailed) as err:
        update_evaluation({"items": {"nonsense": {}}, "good_from": 80, "fair_from": 60},
                          actor=world.admin)
    assert err.value.code == "evaluation_unknown_item"
