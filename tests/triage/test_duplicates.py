"""Near-duplicates on hand-made pairs: edited copies are found, different complaints are not."""
import numpy as np
import pytest

from backend.triage.duplicates import DuplicateIndex
from backend.triage.minhash import MinHasher

ORIGINAL = ("A3区金星路桂花苑小区门口的垃圾站每天早上五点开始作业，噪音很大，垃圾车进出时臭气熏天。"
            "小区居民多次向物业和街道反映，至今没有解决。希望有关部门将垃圾站迁离居民楼。联系电话13812345678。")
EDITS = {
    "edited copy": ("A3区金星路桂花苑小区门口垃圾站每天早上五点就开始作业，噪音非常大，垃圾车进出的时候臭气熏天。"
                    "居民多次向物业、街道反映，到现在都没有解决。请领导重视！希望有关部门把垃圾站迁离居民楼。联系电话13812345678。"),
    "reordered sentences": ("小区居民多次向物业和街道反映，至今没有解决。希望有关部门将垃圾站迁离居民楼。"
                            "A3区金星路桂花苑小区门口的垃圾站每天早上五点开始作业，噪音很大，垃圾车进出时臭气熏天。联系电话13812345678。"),
    "changed phone number": ORIGINAL.replace("13812345678", "13999990000"),
    "resident writing again, shorter": ("再次反映：A3区金星路桂花苑小区门口的垃圾站每天早上五点开始作业，噪音很大，"
                                        "垃圾车进出时臭气熏天。希望有关部门将垃圾站迁离居民楼。"),
}
DIFFERENT = {
    "same category, other estate and problem": ("A5区湘江大道东湖小区旁边的餐馆油烟直排，居民家里窗户都不敢开，"
                                                "晚上还有烧烤摊噪音扰民到凌晨两点，请环保部门查处。"),
    "same estate, other problem": ("A3区金星路桂花苑小区的电梯经常停运，上个月还困过人，"
                                   "物业说没有维修资金，老人上下楼非常困难，请求住建部门督促维修。"),
    "unrelated": "请问孩子今年上小学，户口在外地，需要准备哪些入学材料？学区是怎么划分的？",
}


@pytest.fixture
def index():
    idx = DuplicateIndex()
    idx.add(1, ORIGINAL)
    for n, text in enumerate(DIFFERENT.values(), start=10):
        idx.add(n, text)
    return idx


@pytest.mark.parametrize("name", EDITS)
def test_edited_copies_are_found(index, name):
    matches = index.query(EDITS[name])
    assert [m.key for m in matches] == [1], name
    assert matches[0].score >= index.threshold


@pytest.mark.parametrize("name", DIFFERENT)
def test_different_messages_are_not_duplicates(name):
    idx = DuplicateIndex()
    idx.add(1, ORIGINAL)
    assert idx.query(DIFFERENT[name]) == []


def test_short_texts_match_nothing(index):
    index.add(99, "你好")
    assert index.query("你好") == []


def test_add_and_query_returns_earlier_ones_only_and_indexes_the_new_one():
    idx = DuplicateIndex()
    assert idx.add_and_query(1, ORIGINAL) == []
    assert [m.key for m in idx.add_and_query(2, EDITS["edited copy"])] == [1]
    assert sorted(m.key for m in idx.add_and_query(3, EDITS["changed phone number"])) == [1, 2]


def test_removed_messages_are_not_found(index):
    index.remove(1)
    assert index.query(EDITS["edited copy"]) == []
    assert 1 not in index and len(index) == len(DIFFERENT)


def test_dump_and_load_give_the_same_answers(index, tmp_path):
    index.add("m-7", EDITS["reordered sentences"])
    index.dump(tmp_path / "dupes.npz")
    again = DuplicateIndex.load(tmp_path / "dupes.npz")
    assert len(again) == len(index)
    for text in list(EDITS.values()) + list(DIFFERENT.values()):
        assert again.query(text) == index.query(text)
    assert {m.key for m in again.query(ORIGINAL)} == {1, "m-7"}


def test_minhash_agreement_estimates_jaccard():
    """Signatures of sets with Jaccard 0.9 agree on about 90 % of their positions (a hash family
    that does not mix its input makes consecutive values agree almost never)."""
    hasher = MinHasher(256)
    a = np.arange(1000, 1100, dtype=np.uint32)
    b = np.arange(1005, 1105, dtype=np.uint32)  # Jaccard 95/105 = 0.905
    agreement = float(np.mean(hasher.signature(a) == hasher.signature(b)))
    assert abs(agreement - 95 / 105) < 0.08
    c = np.arange(5000, 5100, dtype=np.uint32)  # disjoint
    assert np.mean(hasher.signature(a) == hasher.signature(c)) < 0.05
