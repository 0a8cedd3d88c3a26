"""Small synthetic labelled messages for the triage tests (the shared data never enters the repo)."""
import csv
import random

TOPICS = {
    "教育文体": (["学校", "小学", "幼儿园", "老师", "学位", "招生", "补课", "学费"],
             ["乱收费", "划片不合理", "强制补课", "入学难"]),
    "卫生计生": (["医院", "医生", "医保", "门诊", "疫苗", "药费", "病人", "卫生院"],
             ["收费过高", "态度恶劣", "报销困难", "排队太久"]),
    "交通运输": (["公交", "出租车", "地铁", "站台", "线路", "司机", "班次", "驾校"],
             ["绕路拒载", "班次太少", "站点太远", "收费混乱"]),
    "环境保护": (["油烟", "噪音", "污水", "垃圾焚烧", "粉尘", "排污", "异味", "河道"],
             ["扰民严重", "污染环境", "夜间施工", "直排河里"]),
}
PLACES = ["金星路", "桂花苑", "东湖小区", "西城街道", "南岭村", "湘江大道"]


def messages(n_per_class: int = 12, seed: int = 3) -> list[tuple[str, str, str]]:
    """(subject, body, label) rows; every row mixes one label's words with shared filler."""
    rng = random.Random(seed)
    rows = []
    for label, (things, problems) in TOPICS.items():
        for _ in range(n_per_class):
            a, b = rng.sample(things, 2)
            place, problem = rng.choice(PLACES), rng.choice(problems)
            subject = f"{place}{a}{problem}"
            body = (f"您好，我是{place}的居民，附近的{a}和{b}{problem}，已经很久了，"
                    f"{rng.choice(things)}的问题一直没人管，希望领导重视，尽快处理。")
            rows.append((subject, body, label))
    rng.shuffle(rows)
    return rows


def write_csv(path, rows, columns=("id", "subject", "time", "body", "label")) -> None:
    """Rows as a CSV with the columns of messages_labelled.csv (or only `columns`)."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for i, (subject, body, label) in enumerate(rows):
            w.writerow({"id": i, "subject": subject, "time": "2026-01-01 10:00:00", "body": body, "label": label})
