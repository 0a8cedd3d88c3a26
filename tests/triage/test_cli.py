"""`flask triage train` and `flask triage evaluate` on small generated CSVs."""
import re

import pytest

from backend.triage import category
from tests.triage.samples import messages, write_csv


@pytest.fixture(autouse=True)
def _fresh_models():
    category.forget_models()
    yield
    category.forget_models()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def data(tmp_path):
    train_csv, test_csv = tmp_path / "train.csv", tmp_path / "test.csv"
    write_csv(train_csv, messages(10, seed=1))
    write_csv(test_csv, messages(4, seed=2))
    return tmp_path, train_csv, test_csv


def test_train_then_evaluate_prints_per_class_f1_and_macro_f1_last(runner, data):
    tmp, train_csv, test_csv = data
    model_dir = tmp / "model"
    result = runner.invoke(args=["triage", "train", str(train_csv), "--model-dir", str(model_dir)])
    assert result.exit_code == 0, result.output
    assert "已用 40 条留言和 0 条更正训练模型：4 个类别" in result.output
    assert (model_dir / "category.npz").exists() and (model_dir / "category.json").exists()

    result = runner.invoke(args=["triage", "evaluate", str(test_csv), "--model-dir", str(model_dir)])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert re.fullmatch(r"macro-F1 [01]\.\d{3}", lines[-1])
    assert float(lines[-1].split()[1]) >= 0.9
    per_class = [line for line in lines if "\tF1 " in line]
    assert sorted(line.split("\t")[0] for line in per_class) == sorted(["教育文体", "卫生计生", "交通运输", "环境保护"])


def test_evaluate_reads_the_model_directory_from_config(runner, app, data, monkeypatch):
    tmp, train_csv, test_csv = data
    assert runner.invoke(args=["triage", "train", str(train_csv), "--model-dir", str(tmp / "m")]).exit_code == 0
    monkeypatch.setitem(app.config, "TRIAGE_MODEL_DIR", str(tmp / "m"))
    result = runner.invoke(args=["triage", "evaluate", str(test_csv)])
    assert result.exit_code == 0 and result.output.strip().splitlines()[-1].startswith("macro-F1 ")


def test_corrections_change_what_the_model_learns(runner, data):
    tmp, train_csv, _ = data
    rows = messages(10, seed=1)
    relabelled = [(s, b, "商贸旅游") for s, b, label in rows if label == "交通运输"]
    write_csv(tmp / "corrections.csv", relabelled)
    result = runner.invoke(args=["triage", "train", str(train_csv), "--corrections", str(tmp / "corrections.csv"),
                                 "--model-dir", str(tmp / "m")])
    assert result.exit_code == 0, result.output
    assert f"和 {len(relabelled)} 条更正" in result.output
    s = category.suggest("公交班次太少", "公交线路绕路，站台太远，司机拒载", model_dir=tmp / "m")
    assert s.label == "商贸旅游"
    assert "交通运输" not in category.get_model(tmp / "m").labels  # every such row was corrected


@pytest.mark.parametrize("columns, expected", [
    (("id", "subject", "body"), "文件缺少列：label"),
    (("id", "subject", "time", "body", "label"), None),
])
def test_bad_csv_is_a_chinese_error_and_writes_nothing(runner, tmp_path, columns, expected):
    path = tmp_path / "bad.csv"
    if expected is None:  # right columns, but no row has a label
        write_csv(path, [(s, b, "") for s, b, _ in messages(2)], columns)
        expected = "没有可用的留言"
    else:
        write_csv(path, messages(2), columns)
    for command in ("train", "evaluate"):
        result = runner.invoke(args=["triage", command, str(path), "--model-dir", str(tmp_path / "m")])
        assert result.exit_code != 0
        assert expected in result.output
    assert not (tmp_path / "m").exists()


def test_missing_file_is_a_chinese_error(runner, tmp_path):
    result = runner.invoke(args=["triage", "evaluate", str(tmp_path / "none.csv"), "--model-dir", str(tmp_path)])
    assert result.exit_code != 0 and "无法读取文件" in result.output


def test_evaluate_without_a_model_says_so(runner, data):
    tmp, _, test_csv = data
    result = runner.invoke(args=["triage", "evaluate", str(test_csv), "--model-dir", str(tmp / "empty")])
    assert result.exit_code != 0 and "无法载入分类模型" in result.output


TREE = ("level1,level2,level3\n"
        "交通运输,客货运输,旅客运输\n交通运输,其他,其他\n交通运输,客货运输,货物运输\n交通运输,客货运输,客运站点\n"
        "政法,治安管理,治安\n商贸旅游,市场监管,物价监督\n")


def test_taxonomy_names_join_the_training_rows_of_known_labels(runner, data):
    from backend.triage.training import Row, read_taxonomy
    tmp, train_csv, _ = data
    (tmp / "tree.csv").write_text(TREE, encoding="utf-8")
    # a label the data does not have (政法, 商贸旅游) and the catch-all 其他 are left out
    assert read_taxonomy(tmp / "tree.csv", {"交通运输", "教育文体"}) == [
        Row("", "客货运输 旅客运输", "交通运输"), Row("", "客货运输 货物运输", "交通运输"),
        Row("", "客货运输 客运站点", "交通运输")]
    result = runner.invoke(args=["triage", "train", str(train_csv), "--taxonomy", str(tmp / "tree.csv"),
                                 "--model-dir", str(tmp / "m")])
    assert result.exit_code == 0, result.output
    assert "（另加分类目录 3 条）" in result.output
    assert "客货" in category.get_model(tmp / "m").blocks[0][1]  # the tree's words are in the vocabulary (min_df 3)


def test_taxonomy_without_its_columns_is_a_chinese_error_and_writes_nothing(runner, data):
    tmp, train_csv, _ = data
    (tmp / "tree.csv").write_text("一级,二级\n交通运输,客货运输\n", encoding="utf-8")
    result = runner.invoke(args=["triage", "train", str(train_csv), "--taxonomy", str(tmp / "tree.csv"),
                                 "--model-dir", str(tmp / "m")])
    assert result.exit_code != 0 and "分类目录缺少列：level1、level2、level3" in result.output
    assert not (tmp / "m").exists()
