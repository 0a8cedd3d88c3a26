"""Demo data for a fresh machine: a district, its stations, a dozen deputies with photos,
departments and staff accounts, and a little of each feature in use (messages, suggestions,
activities, a livelihood-project round, routing rules). Used by `flask demo` and the browser
tests."""
import io
import random
from datetime import date

from PIL import Image, ImageDraw, ImageFilter

from backend.core.adapters import get_storage
from backend.core.extensions import db
from backend.org.models import Department, Deputy, DeputyGroup, Station, Term
from backend.accounts.operations import create_staff, generate_password
from backend.org.codes import issue_code
from backend.messages.moderation import seed_rules
from backend.reception.days import build_days
from backend.core.timeutil import local_today

STATIONS = [
    ("城关区人大代表之家", "home", "城关区人民路88号区人大常委会一楼", "周一至周五 8:30-17:30"),
    ("城关街道代表联络站", "station", "城关街道解放路12号党群服务中心二楼", "周一至周五 9:00-17:00"),
    ("桂花坪街道代表联络站", "station", "桂花坪街道桂花路36号社区综合楼", "周一至周五 9:00-17:00"),
    ("洋湖社区代表联系点", "point", "洋湖社区居委会一楼（湘江西路118号）", "每周二、四 14:00-17:00"),
]
# name, level, occupation, expertise, constituency, station indexes
DEPUTIES = [
    ("王建国", "county", "城关街道社区卫生服务中心主任医师", "基层医疗、慢病管理", "第一选区", [0, 1]),
    ("李秀英", "county", "城关第一小学校长", "义务教育、课后服务", "第二选区", [1]),
    ("张伟", "municipal", "市政工程公司总工程师", "道路桥梁、排水防涝", "城关片区", [0, 1]),
    ("刘芳", "county", "桂花坪社区党委书记", "社区治理、养老服务", "第五选区", [2]),
    ("陈志强", "county", "个体工商户（餐饮）", "小微企业、食品安全", "第六选区", [2]),
    ("欧阳明", "provincial", "律师事务所主任", "法律援助、物业纠纷", "城关区", [0]),
    ("赵丽华", "township", "洋湖社区网格员", "网格治理、邻里调解", "洋湖选区", [3]),
    ("孙海涛", "county", "公交公司驾驶员", "公共交通、道路安全", "第三选区", [1, 3]),
    ("周敏", "municipal", "区人民医院护士长", "医疗服务、护理", "城关片区", [2]),
    ("吴国平", "county", "退休教师", "老年教育、文化体育", "第四选区", [1]),
    ("郑晓燕", "national", "农业合作社理事长", "乡村振兴、农产品流通", "本省", [0]),
    ("黄志明", "county", "环保科技公司工程师", "生态环境、垃圾分类", "第七选区", [3]),
]
DEPARTMENTS = ["区住房和城乡建设局", "区交通运输局", "区教育局", "区卫生健康局",
               "区生态环境分局", "区人力资源和社会保障局", "区城市管理和综合执法局"]


# The demo's staff accounts; `flask demo --passwords` gives exactly these new passwords.
DEMO_USERNAMES = ("admin", "liaison1", "liaison2", "deputy_wang", "dept_zjj")


def reset_demo_passwords() -> list[tuple[str, str, str]]:
    """New random passwords for the demo's staff accounts, as [(username, name, password)].
    Passwords are stored only as hashes, so the old ones cannot be shown again; and fixed,
    well-known demo passwords would let anyone on the network in once `scripts/start --lan`
    serves the demo there. Accounts someone created themselves are left alone."""
    from backend.accounts.models import StaffUser
    from backend.accounts.operations import reset_password
    users = db.session.scalars(db.select(StaffUser).where(StaffUser.username.in_(DEMO_USERNAMES)))
    by_name = {u.username: u for u in users}
    return [(name, by_name[name].display_name, reset_password(by_name[name], actor=None))
            for name in DEMO_USERNAMES if name in by_name]


def load_demo(*, reset: bool = False):
    """Returns [(username, role label, password)], or None when demo data is already there."""
    if db.session.scalar(db.select(Station.id).limit(1)) is not None:
        if not reset:
            return None
        _clear()
    rng = random.Random(20261123)
    term = Term(name="城关区第五届人民代表大会", starts_on=date(2021, 12, 1),
                ends_on=date(2026, 12, 31), is_current=True)
    groups = [DeputyGroup(name=f"第{n}代表小组") for n in "一二三"]
    stations = [Station(name=n, kind=k, address=a, opening_hours=h,
                        phone="0731-8888 0000" if k == "home" else "",
                        heads=[{"name": "林红", "title": "站长", "phone": "0731-8888 0001"},
                               {"name": "何军", "title": "联络员", "phone": "0731-8888 0002"}])
                for n, k, a, h in STATIONS]
    db.session.add_all([term, *groups, *stations])
    storage = get_storage()
    deputies = []
    for i, (name, level, occupation, expertise, constituency, idx) in enumerate(DEPUTIES):
        photo = storage.save(demo_portrait(rng, name), "photos", "jpg")
        deputy = Deputy(name=name, level=level, occupation=occupation, expertise=expertise,
                        constituency=constituency, term=term, group=groups[i % 3],
                        phone=f"1390731{1000 + i:04d}", photo_path=photo,
                        intro=f"{name}，{occupation}。关注{expertise}等方面的民生问题，欢迎来信来访。",
                        stations=[stations[j] for j in idx])
        deputies.append(deputy)
    db.session.add_all(deputies)
    departments = [Department(name=n) for n in DEPARTMENTS]
    db.session.add_all(departments)
    db.session.flush()
    for deputy in deputies:
        issue_code(deputy)

    accounts = [
        ("admin", "代工委管理员", "admin", {}),
        ("liaison1", "城关站联络员 何军", "liaison", {"stations": [stations[0], stations[1]]}),
        ("liaison2", "桂花坪站联络员 彭丽", "liaison", {"stations": [stations[2], stations[3]]}),
        ("deputy_wang", "王建国", "deputy", {"deputy": deputies[0]}),
        ("dept_zjj", "区住房和城乡建设局", "department", {"department": departments[0]}),
    ]
    created, staff = [], {}
    for username, display, role, links in accounts:
        password = generate_password()
        staff[username] = create_staff(username=username, display_name=display, role=role,
                                       password=password, **links)
        created.append((username, display, password))
    seed_rules()
    messages = _demo_messages(deputies, stations, staff)
    _demo_suggestions(deputies, departments, staff, messages)
    _demo_activities(deputies, stations, staff)
    _demo_projects(staff)
    _demo_routing(deputies, stations, departments, staff["admin"])
    build_days(local_today())  # the next reception days, with deputies on duty
    return created


# What residents wrote, in the shape the demo should show: some new, some in hand, one answered.
DEMO_MESSAGES = [
    (0, "小区门口的路灯坏了一个多月，晚上很黑，老人出门不安全，请帮忙协调修理。", "answer"),
    (0, "希望社区卫生服务中心周末也能开放半天，上班族看病不方便。", None),
    (2, "解放路与人民路交叉口的红绿灯时间太短，老人过马路来不及。", "acknowledge"),
    (1, "学校门口早晚接送孩子时车辆乱停，堵得厉害，建议划定临时停车区。", None),
    (3, "桂花坪社区老年食堂饭菜价格上涨了，能否给八十岁以上老人优惠？", "acknowledge"),
    (0, "建设路北段到菜市场那一段没有路灯，冬天六点天就黑了，买菜回来摸黑走路。", "acknowledge"),
]


def _demo_messages(deputies, stations, staff) -> list:
    from backend.accounts.resident_model import Resident
    from backend.messages import operations as ops
    liaisons = {s.id: staff["liaison1"] if s in staff["liaison1"].stations else staff["liaison2"]
                for s in stations}
    made = []
    for n, (deputy_index, body, step) in enumerate(DEMO_MESSAGES):
        resident = Resident(web_key=f"demo-resident-{n}")
        db.session.add(resident)
        db.session.flush()
        deputy = deputies[deputy_index]
        message = ops.submit_message(resident=resident, deputy=deputy, body=body,
                                     idempotency_key=f"demo-message-{n:04d}",
                                     phone=f"1380013{n:04d}").message
        if step in ("acknowledge", "answer"):
            ops.acknowledge(message, actor=liaisons[message.station_id])
        if step == "answer" and deputy.id == staff["deputy_wang"].deputy_id:
            ops.reply(message, "您好，我已联系街道和供电所，路灯本周五前修好。修好后如还有问题，"
                               "请再给我留言。", actor=staff["deputy_wang"])
        made.append(message)
    return made


def _demo_suggestions(deputies, departments, staff, messages) -> None:
    """One suggestion at each stage a visitor should see: answered B and waiting for 王建国's
    rating (its residents already see the answer), one waiting for the admin's review, one draft."""
    from datetime import timedelta

    from backend.suggestions import handling
    from backend.suggestions import review
    from backend.suggestions import drafting as ops
    from backend.core.timeutil import local_today
    wang, admin, dept = staff["deputy_wang"], staff["admin"], staff["dept_zjj"]
    lights = ops.create_draft(
        actor=wang, deputy=deputies[0], title="关于补齐城关街道夜间照明设施的建议",
        category="城乡建设", message_ids=[messages[0].id, messages[5].id],
        problem="城关街道建设路北段、部分老旧小区出入口路灯缺失或长期损坏，"
                "居民反映冬季傍晚出行不便，老人摔倒风险高。",
        proposal="一、对街道范围内路灯开展一次全面排查；二、补装建设路北段路灯；"
                 "三、建立路灯损坏报修和定期巡查机制。")
    ops.submit(lights, actor=wang)
    review.accept_and_assign(lights, actor=admin, lead=departments[0])
    handling.accept(lights, actor=dept)
    today = local_today()
    handling.answer(
        lights, actor=dept, resolution="B",
        body="经现场排查，建设路北段需新装路灯14盏，已列入今冬照明改造计划；"
             "老旧小区出入口损坏路灯6盏已于本月修复，并建立每月巡查制度。",
        promised_by=today + timedelta(days=60),
        milestones=[(today + timedelta(days=20), "完成施工招标"),
                    (today + timedelta(days=50), "完成路灯安装并通电")])

    parking = ops.create_draft(
        actor=staff["liaison1"], deputy=deputies[1], title="关于规范学校周边接送车辆停放的建议",
        category="交通运输", message_ids=[messages[3].id],
        problem="城关小学门口早晚接送时段车辆乱停，道路拥堵，学生安全隐患突出。",
        proposal="建议在学校周边划定临时停车区，高峰时段安排交警和志愿者疏导。")
    ops.submit(parking, actor=staff["liaison1"])

    ops.create_draft(
        actor=wang, deputy=deputies[0], title="关于社区卫生服务中心周末开诊的建议",
        category="卫生计生", message_ids=[messages[1].id],
        problem="上班族反映社区卫生服务中心周末不开诊，看小病只能去大医院排队。",
        proposal="建议社区卫生服务中心周六上午开诊，并公布值班医生名单。")


def _demo_activities(deputies, stations, staff) -> None:
    """Two activities held, each with someone absent: a 人民议事厅 session with its details, a
    matter turned into a message and one the resident kept to the record; a visit. Two ahead
    with invitations (one answered), and a deputy's own visit for the station to confirm."""
    from datetime import time, timedelta

    from backend.activities import matters
    from backend.activities import operations as ops
    from backend.core.timeutil import utcnow
    liaison1, liaison2, wang = staff["liaison1"], staff["liaison2"], staff["deputy_wang"]
    today = local_today()

    def at(days: int, start: int, hours: int = 2):
        starts = ops.local_datetime(today + timedelta(days=days), time(start))
        return {"starts_at": starts, "ends_at": starts + timedelta(hours=hours)}

    def organised(actor, station, kind, title, place, when, invited):
        # Organised a week before it starts, as it would have been.
        return ops.create_activity(actor=actor, kind=kind, title=title, place=place,
                                   station_id=station.id if station else None,
                                   deputy_ids=[deputies[i].id for i in invited],
                                   now=when["starts_at"] - timedelta(days=7), **when)

    session = organised(liaison1, stations[1], "deliberation", "人民议事厅：老旧小区加装电梯",
                        "城关街道党群服务中心议事厅", at(-6, 15), [0, 1, 2])
    starts = session.starts_at
    ops.answer_invitation(session.attendance_of(deputies[0].id), actor=wang, answer="accept",
                          now=starts - timedelta(days=2))
    for i in (0, 2):
        ops.mark_present(session.attendance_of(deputies[i].id), actor=liaison1, now=starts)
    ops.record_activity(session, actor=liaison1, summary=(
        "解放路社区三个老旧小区的居民、物业和施工单位代表参加，围绕加装电梯的费用分摊和低层住户"
        "补偿充分协商。"), details={
        "topic": "解放路社区老旧小区加装电梯费用分摊", "resident_count": 26,
        "resident_names": "周阿姨（3栋）、马师傅（5栋）、陈老师（7栋）",
        "agreed": "一、一楼住户不分摊费用；二、二楼及以上按楼层系数分摊；"
                  "三、街道协调公积金提取，月底前公示方案。"}, now=starts + timedelta(hours=3))
    item = matters.add_item(session, actor=liaison1, summary=(
        "5栋加装电梯要占用楼下的自行车棚，希望另找地方安置电动车充电桩。"),
        resident_name="马师傅", phone="13800138005", deputy_id=deputies[0].id,
        resident_consent=True)
    matters.item_to_message(item, actor=liaison1)
    matters.add_item(session, actor=liaison1, summary="施工期间希望错开中午休息时间，减少噪音。",
                     resident_consent=False)

    visit = organised(liaison2, stations[2], "visit", "走访桂花坪社区独居老人",
                      "桂花坪社区", at(-3, 9), [3, 4, 8])
    for i in (3, 8):
        ops.mark_present(visit.attendance_of(deputies[i].id), actor=liaison2,
                         now=visit.starts_at)
    ops.record_activity(visit, actor=liaison2, summary=(
        "走访独居老人12户，了解助餐、就医和紧急呼叫需求，已将2户的需求转社区跟进。"),
        now=visit.ends_at)

    inspection = organised(staff["admin"], None, "inspection", "视察城区排水防涝工程",
                           "湘江西路泵站", at(5, 9, 3), [0, 2, 5, 10])
    ops.answer_invitation(inspection.attendance_of(deputies[0].id), actor=wang, answer="accept")
    organised(liaison1, stations[1], "group", "第一代表小组季度活动", "城关街道代表联络站",
              at(9, 14), [0, 1, 7, 9])
    ops.report_activity(deputies[0], actor=wang, kind="visit", title="走访第一选区建设路居民",
                        place="建设路北段", station_id=stations[1].id, summary=(
                            "走访建设路北段沿街住户8户，居民集中反映夜间照明不足，已形成建议。"),
                        now=utcnow(), **at(-2, 16))


def _demo_projects(staff) -> None:
    """Next year's livelihood-project round, collecting: two residents' proposals (one with
    supporters) and a deputy's."""
    from backend.accounts.resident_model import Resident
    from backend.projects import collection
    round_ = collection.open_round(year=local_today().year + 1, theme="办好群众家门口的民生实事",
                                   categories=["交通出行", "养老服务", "环境整治"],
                                   actor=staff["admin"])
    residents = [Resident(web_key=f"demo-proposer-{n}") for n in range(4)]
    db.session.add_all(residents)
    db.session.flush()
    first, _ = collection.propose_as_resident(round_, {
        "title": "人民路公交站增设候车座椅和遮阳棚", "category": "交通出行",
        "content": "人民路沿线6个公交站只有站牌，没有座椅和遮阳棚",
        "reason": "老人和带孩子的家长候车站得累，夏天晒、雨天淋"},
        resident=residents[0], idempotency_key="demo-proposal-0001")
    for resident in residents[1:]:
        collection.support(first, resident=resident)
    collection.propose_as_resident(round_, {
        "title": "桂花坪社区老年食堂延长供餐时间", "category": "养老服务",
        "content": "桂花坪社区老年食堂晚餐增加到19点，并提供送餐上门",
        "reason": "独居老人晚饭没有着落，行动不便的老人去不了食堂"},
        resident=residents[1], idempotency_key="demo-proposal-0002")
    collection.propose_as_deputy(round_, {
        "title": "建设路北段背街小巷环境整治", "category": "环境整治",
        "content": "清理建设路北段背街小巷的违章搭建和积存垃圾，补装路灯",
        "reason": "居民多次反映小巷脏乱、夜里没有照明"}, actor=staff["deputy_wang"])


def _demo_routing(deputies, stations, departments, admin) -> None:
    """Two 分办规则 the liaisons' queue suggests from: traffic words to a deputy who drives a
    bus, elderly care at 桂花坪 to the deputy who runs its community."""
    from backend.messages import routing
    routing.add_rule(stations[1], category="交通运输", keywords="红绿灯 斑马线 公交",
                     deputy=deputies[7], actor=admin)
    routing.add_rule(stations[2], category="民政", keywords="养老 老年食堂",
                     deputy=deputies[3], actor=admin)


def _clear() -> None:
    for table in reversed(db.metadata.sorted_tables):
        if table.name != "alembic_version":
            db.session.execute(table.delete())


PALETTE = [(183, 28, 28), (21, 101, 192), (46, 125, 50), (106, 27, 154), (0, 121, 107),
           (230, 81, 0), (69, 90, 100)]


def demo_portrait(rng: random.Random, name: str, size: int = 480) -> bytes:
    """An illustrated head-and-shoulders portrait; real deployments upload real photos."""
    bg = rng.choice(PALETTE)
    img = Image.new("RGB", (size, size), tuple(min(255, c + 150) for c in bg))
    d = ImageDraw.Draw(img)
    skin = rng.choice([(241, 204, 176), (230, 188, 152), (224, 172, 140)])
    hair = rng.choice([(40, 30, 25), (60, 45, 35), (90, 90, 90), (30, 30, 30)])
    s = size
    d.ellipse((s * .18, s * .68, s * .82, s * 1.25), fill=bg)  # shoulders
    d.rectangle((s * .44, s * .55, s * .56, s * .72), fill=skin)  # neck
    d.ellipse((s * .31, s * .2, s * .69, s * .64), fill=skin)  # face
    d.chord((s * .29, s * .14, s * .71, s * .52), 180, 360, fill=hair)  # hair
    d.polygon([(s * .44, s * .68), (s * .5, s * .8), (s * .56, s * .68)], fill=(255, 255, 255))
    img = img.filter(ImageFilter.SMOOTH)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=88)
    return out.getvalue()
