"""Category suggestion: train on a small synthetic sample, save, load, suggest; a missing or
broken model gives no suggestion (and a log line), never an exception."""
import logging

import numpy as np
import pytest

from backend.triage import category
from backend.triage.category import CategoryModel, Suggestion, get_model, suggest
from backend.triage.training import Row, RowsError, fit_tokens, tokenize_rows, train, with_corrections
from tests.triage.samples import messages


@pytest.fixture(autouse=True)
def _fresh_models():
    category.forget_models()
    yield
    category.forget_models()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    rows = [Row(*r) for r in messages(12, seed=3)]
    directory = tmp_path_factory.mktemp("model")
    model = train(rows, directory)
    return directory, model


def test_train_save_load_suggest(trained):
    directory, in_memory = trained
    assert {p.name for p in directory.iterdir()} == {"category.json", "category.npz"}
    held_out = messages(5, seed=99)  # new combinations the model never saw
    right = 0
    for subject, body, label in held_out:
        s = suggest(subject, body, model_dir=directory)
        assert isinstance(s, Suggestion) and 0 < s.confidence <= 1
        right += s.label == label
        # the file's float16 weights score as the in-memory float32 ones do
        assert np.allclose(get_model(directory).decision(subject, body), in_memory.decision(subject, body), atol=2e-3)
    assert right / len(held_out) >= 0.9


def test_loaded_once_per_process(trained, monkeypatch):
    directory, _ = trained
    loads = []
    real_load = CategoryModel.load.__func__
    monkeypatch.setattr(CategoryModel, "load", classmethod(lambda cls, d: loads.append(d) or real_load(cls, d)))
    for _ in range(3):
        suggest("学校乱收费", "孩子的学校乱收费", model_dir=directory)
    assert len(loads) == 1


def test_clear_message_is_confident_and_has_no_top3(trained):
    directory, _ = trained
    s = suggest("东湖小区幼儿园乱收费", "幼儿园和学校乱收费，老师强制补课，学费太高", model_dir=directory)
    assert s.label == "教育文体" and not s.uncertain and s.top3 == []


def test_unknown_words_are_uncertain_with_top3(trained):
    directory, _ = trained
    s = suggest("", "ＸＹＺ", model_dir=directory)  # no known token: nothing decides between classes
    assert s.uncertain
    assert len(s.top3) == 3 and s.top3[0][0] == s.label
    assert [p for _, p in s.top3] == sorted((p for _, p in s.top3), reverse=True)


def test_top3_when_the_first_is_not_clearly_ahead(trained):
    _, model = trained
    first, second = model.labels.index("卫生计生"), model.labels.index("交通运输")
    close = np.zeros(len(model.labels))
    close[first], close[second] = 1.0, 1.0 - 0.2 * model.temperature  # p1 - p2 well under the margin
    s = model.suggestion_from(close)
    assert s.label == "卫生计生" and [label for label, _ in s.top3[:2]] == ["卫生计生", "交通运输"]
    clear = np.zeros(len(model.labels))
    clear[first] = 20 * model.temperature
    s = model.suggestion_from(clear)
    assert s.label == "卫生计生" and s.top3 == [] and not s.uncertain and s.confidence > 0.99


def test_missing_model_gives_none_and_a_log_line(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="lianxin.triage"):
        assert suggest("学校乱收费", "学费太高", model_dir=tmp_path / "nowhere") is None
    assert "not loaded" in caplog.text


@pytest.mark.parametrize("damage", ["truncated_npz", "garbage_json", "wrong_shape", "wrong_format"])
def test_corrupt_model_gives_none_and_a_log_line(trained, tmp_path, caplog, damage):
    directory, model = trained
    model.save(tmp_path)
    if damage == "truncated_npz":
        data = (tmp_path / "category.npz").read_bytes()
        (tmp_path / "category.npz").write_bytes(data[: len(data) // 2])
    elif damage == "garbage_json":
        (tmp_path / "category.json").write_text("{not json", encoding="utf-8")
    elif damage == "wrong_shape":
        meta = (tmp_path / "category.json").read_text(encoding="utf-8")
        (tmp_path / "category.json").write_text(meta.replace('"vocabulary":[', '"vocabulary":["多余的词",', 1),
                                                encoding="utf-8")
    else:
        meta = (tmp_path / "category.json").read_text(encoding="utf-8")
        (tmp_path / "category.json").write_text(meta.replace(f'"format":{category.FORMAT_VERSION}', '"format":99'), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="lianxin.triage"):
        assert suggest("学校乱收费", "学费太高", model_dir=tmp_path) is None
    assert "not loaded" in caplog.text


def test_scoring_failure_gives_none_and_a_log_line(trained, monkeypatch, caplog):
    directory, _ = trained
    model = get_model(directory)
    monkeypatch.setattr(model, "W", model.W[:10])  # indexes past the end: scoring raises inside
    with caplog.at_level(logging.ERROR, logger="lianxin.triage"):
        assert suggest("学校乱收费", "幼儿园学费太高，老师补课", model_dir=directory) is None
    assert "suggestion failed" in caplog.text


def test_model_file_has_no_pickle(trained):
    directory, _ = trained
    with np.load(directory / "category.npz", allow_pickle=False) as f:
        assert all(f[name].dtype != object for name in f.files)


def test_corrections_replace_the_label_of_the_same_message():
    rows = [Row("学校收费", "学费太高", "教育文体"), Row("公交绕路", "司机绕路", "交通运输")]
    merged = with_corrections(rows, [Row("学校收费", "学费太高", "商贸旅游")])
    assert sorted(r.label for r in merged) == ["交通运输", "商贸旅游"]


def test_one_class_cannot_be_trained():
    rows = [Row("学校收费", "学费太高", "教育文体")] * 5
    with pytest.raises(RowsError):
        fit_tokens(tokenize_rows(rows), [r.label for r in rows])


def test_shipped_model_is_small_and_works():
    files = list(category.MODEL_DIR.glob("category.*"))
    assert sorted(f.name for f in files) == ["category.json", "category.npz"]
    assert sum(f.stat().st_size for f in files) < 20 * 1024 * 1024
    s = suggest("孩子上小学划片不合理", "我家孩子今年上小学，学区划片不合理，学位不够，希望教育局解决入学问题")
    assert s is not None and s.label == "教育文体"
    s = suggest("小区旁边工厂排污", "工厂夜里偷偷排放污水和废气，河道发黑发臭，请环保部门查处")
    assert s.label == "环境保护"
