"""A search in the liaison's queue looks through every state unless a state is chosen, and the
page always says which filters are on: no silent 待办 hiding two of three 「路灯」 cases."""
import re
import uuid

from backend.accounts.resident_model import Resident
from backend.messages import operations as ops

ITEM_RE = re.compile(r'data-testid="message-item" data-id="(\d+)"')


def _ids(html: str) -> set[int]:
    return {int(i) for i in ITEM_RE.findall(html)}


def _shown(html: str) -> str:
    return re.search(r'data-testid="active-filters">([^<]*)<', html).group(1).strip()


def test_a_search_looks_through_every_state_and_says_so(app, client, db, make_station,
                                                       make_deputy, make_staff, login):
    station = make_station(name="城关街道代表联络站")
    deputy = make_deputy(stations=[station])
    liaison = make_staff("liaison", stations=[station])
    made = []
    for body in ("小区门口的路灯坏了一个多月", "建设路北段没有路灯，晚上很黑", "路灯太亮照进卧室睡不着",
                 "菜市场门口的井盖松了"):
        resident = Resident()
        db.session.add(resident)
        db.session.flush()
        made.append(ops.submit_message(resident=resident, deputy=deputy, body=body,
                                       idempotency_key=uuid.uuid4().hex).message)
    open_one, rejected, forwarded, other = made
    ops.reject(rejected, reason="不属于代表履职范围", actor=liaison)
    ops.forward(forwarded, to="12345市民服务热线", actor=liaison)
    login(liaison)

    # As the search box sends it: the status select left at its default (empty).
    html = client.get("/staff/messages", query_string={"q": "路灯", "status": ""}).get_data(
        as_text=True)
    assert _ids(html) == {open_one.id, rejected.id, forwarded.id}
    assert _shown(html) == "正在显示：含「路灯」 · 状态：全部"

    html = client.get("/staff/messages", query_string={"q": "路灯"}).get_data(as_text=True)
    assert _ids(html) == {open_one.id, rejected.id, forwarded.id}

    # A state chosen on purpose is kept, and said.
    html = client.get("/staff/messages", query_string={"q": "路灯", "status": "todo"}).get_data(
        as_text=True)
    assert _ids(html) == {open_one.id}
    assert _shown(html) == "正在显示：含「路灯」 · 状态：待办"
    assert 'value="todo" selected' in html

    # No text: the to-do list, as before, and it says so too.
    html = client.get("/staff/messages").get_data(as_text=True)
    assert _ids(html) == {open_one.id, other.id}
    assert _shown(html) == "正在显示：状态：待办"

    html = client.get("/staff/messages", query_string={
        "q": "路灯", "status": "rejected", "station": station.id, "overdue": "1"}).get_data(
        as_text=True)
    assert _shown(html) == ("正在显示：含「路灯」 · 状态：不予受理 · 站点：城关街道代表联络站 · 仅超期")
