"""The category model's files (format 2: each block names its field and analyzer): format-1 files
still load, a block this code does not know is refused (no suggestion and a log line, never an
exception), no training message is kept in them, and the fast character n-grams are every slice."""
import json
import logging

import numpy as np
import pytest

from backend.triage import category, text
from backend.triage.category import suggest
from backend.triage.training import Row, train
from tests.triage.samples import messages


@pytest.fixture(autouse=True)
def _fresh_models():
    category.forget_models()
    yield
    category.forget_models()


@pytest.fixture(scope="module")
def rows():
    return [Row(*r) for r in messages(12, seed=5)]


def test_format_1_files_still_load(rows, tmp_path):
    """The phase-3 files (format 1: no field/analyzer per block) keep working."""
    train(rows, tmp_path)
    meta = json.loads((tmp_path / "category.json").read_text(encoding="utf-8"))
    meta["format"] = 1
    for block in meta["blocks"]:
        del block["field"], block["analyzer"]
    (tmp_path / "category.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    assert suggest("公交线路绕路", "公交司机绕路拒载，班次太少", model_dir=tmp_path).label == "交通运输"


def test_unknown_block_in_the_file_is_refused(rows, tmp_path, caplog):
    train(rows, tmp_path)
    meta = (tmp_path / "category.json").read_text(encoding="utf-8")
    (tmp_path / "category.json").write_text(meta.replace('"field":"body"', '"field":"reply"', 1), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="lianxin.triage"):
        assert suggest("学校乱收费", "学费太高", model_dir=tmp_path) is None
    assert "not loaded" in caplog.text


def test_the_files_hold_weights_and_vocabularies_only(rows, tmp_path):
    """What ships is derived per feature (vocabulary, idf, weights): no array has a row per
    training message, so residents' messages do not travel in the model."""
    model = train(rows, tmp_path)
    meta = json.loads((tmp_path / "category.json").read_text(encoding="utf-8"))
    assert set(meta) == {"format", "labels", "temperature", "uncertain_below", "top3_margin", "blocks"}
    with np.load(tmp_path / "category.npz", allow_pickle=False) as arrays:
        assert set(arrays.files) == {"W", "b", *(f"idf_{b['name']}" for b in meta["blocks"])}
        assert arrays["W"].shape == (model.n_features, len(model.labels))


def test_char_ngrams_are_every_slice():
    s = "公交车站，太远了ab"
    expected = [run[i:i + n] for run in ("公交车站", "太远了ab") for n in (1, 2, 3) for i in range(len(run) - n + 1)]
    assert text.char_ngrams(s, 1, 3) == expected
    assert text.char_ngrams(s, 2, 4) == [run[i:i + n] for run in ("公交车站", "太远了ab") for n in (2, 3, 4)
                                         for i in range(len(run) - n + 1)]
