"""Programmatic edits of real messages, shared by the duplicate and hot-issue benchmarks:
what residents do when they send the same thing again."""
import csv
import random
import re

DATA = "/work/shared/data"
FILLERS = ["请领导重视！", "谢谢！", "望尽快解决。", "急！急！急！", "麻烦相关部门处理一下，", "再次反映，",
           "希望政府能管一管。", "已经多次反映了，", "附近居民苦不堪言。"]
EDITS = ("delete", "insert", "substitute", "reorder", "phone", "combined")


def read(name: str) -> list[dict]:
    with open(f"{DATA}/{name}", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _spans(rng, text, share):
    n = max(1, int(len(text) * share / 6))
    return sorted(rng.sample(range(max(1, len(text))), min(n, len(text))), reverse=True)


def delete(rng, t, share=0.12):
    for i in _spans(rng, t, share):
        t = t[:i] + t[i + rng.randint(2, 10):]
    return t


def insert(rng, t, share=0.12):
    for i in _spans(rng, t, share / 2):
        t = t[:i] + rng.choice(FILLERS) + t[i:]
    return t


def substitute(rng, t, share=0.08):
    chars = list(t)
    alphabet = sorted(set(t)) or ["的"]  # sorted: set order changes with PYTHONHASHSEED
    for i in rng.sample(range(len(chars)), int(len(chars) * share)):
        chars[i] = rng.choice(alphabet)
    return "".join(chars)


def reorder(rng, t):
    parts = [p for p in re.split(r"(?<=[。！？；!?;，,])", t) if p]
    if len(parts) > 2:
        head, rest = parts[0], parts[1:]
        rng.shuffle(rest)
        parts = [head] + rest if rng.random() < 0.5 else rest + [head]
    return "".join(parts)


def phone(rng, t):
    number = "1" + "".join(rng.choice("3456789") for _ in range(2)) + "".join(rng.choice("0123456789") for _ in range(8))
    replaced = re.sub(r"1[3-9]\d{9}|1\d{2}\*+\d*|\d{3,4}-\d{7,8}", number, t)
    return replaced if replaced != t else t + f"我的联系电话：{number}。"


def edit(rng: random.Random, text: str, kind: str) -> str:
    if kind == "combined":
        for k in rng.sample(["delete", "insert", "substitute", "reorder", "phone"], 2):
            text = edit(rng, text, k)
        return text
    return globals()[kind](rng, text)
