"""No import deletes what the file does not mention, unless a replace is asked for (issue #16 §3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.errors import ImportRejected, ValidationError
from kb.exchange import import_file
from kb.sample import load_lexicons
from kb.service import KnowledgeBase
from tests.helpers import IMPORT, editor
from tests.kb.factories import add_departments, entry_record
from tests.kb.test_exchange import snapshot, write_jsonl

PLACES = [{"district": "朝阳区", "street": "", "aliases": ["朝阳"]},
          {"district": "朝阳区", "street": "三里屯街道", "aliases": ["三里屯"]},
          {"district": "朝阳区", "street": "望京街道", "aliases": ["望京"]},
          {"district": "海淀区", "street": "", "aliases": ["海淀"]}]


def test_one_row_places_file_keeps_the_gazetteer(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.lexicons.set_places(PLACES, actor=editor("seed"))
    path = write_jsonl(tmp_path / "p.jsonl", [{"district": "朝阳区", "street": "望京街道",
                                               "aliases": ["望京", "望京地区"]}])
    result = import_file(kb, path, kind="places", actor=IMPORT)
    assert (result.created, result.updated, result.unchanged, result.deleted) == (0, 1, 0, 0)
    places = kb.lexicons.places()
    assert len(places) == 4
    assert next(p for p in places if p["street"] == "望京街道")["aliases"] == ["望京", "望京地区"]
    new = write_jsonl(tmp_path / "n.jsonl", [{"district": "海淀区", "street": "中关村街道", "aliases": "中关村"}])
    result = import_file(kb, new, kind="places", actor=IMPORT)
    assert (result.created, result.deleted) == (1, 0) and len(kb.lexicons.places()) == 5


def test_places_replace_deletes_only_when_asked_and_counts(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.lexicons.set_places(PLACES, actor=editor("seed"))
    path = write_jsonl(tmp_path / "p.jsonl", [PLACES[0], {"district": "朝阳区", "street": "望京街道",
                                                          "aliases": ["望京"]}])
    before = snapshot(kb)
    check = import_file(kb, path, kind="places", replace=True, dry_run=True, actor=IMPORT)
    assert (check.created, check.updated, check.unchanged, check.deleted) == (0, 0, 2, 2)
    assert snapshot(kb) == before
    result = import_file(kb, path, kind="places", replace=True, actor=IMPORT)
    assert result.deleted == 2
    assert [(p["district"], p["street"]) for p in kb.lexicons.places()] == [("朝阳区", ""), ("朝阳区", "望京街道")]


def test_places_import_is_whole_or_nothing(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.lexicons.set_places(PLACES, actor=editor("seed"))
    before = snapshot(kb)
    path = write_jsonl(tmp_path / "p.jsonl", [{"district": "海淀区", "street": "中关村街道"},
                                              {"district": "", "street": "无名街道"}])
    for replace in (False, True):
        with pytest.raises(ImportRejected) as err:
            import_file(kb, path, kind="places", replace=replace, actor=IMPORT)
        assert [e.row for e in err.value.errors] == [2]
        assert snapshot(kb) == before


def test_replace_is_refused_for_kinds_that_only_add(kb: KnowledgeBase, tmp_path: Path) -> None:
    add_departments(kb)
    with pytest.raises(ValidationError, match="replace"):
        import_file(kb, write_jsonl(tmp_path / "e.jsonl", [entry_record(1)]), kind="entries", replace=True,
                    actor=IMPORT)


def test_list_services_merge_when_asked(kb: KnowledgeBase) -> None:
    kb.lexicons.set_synonyms([("医保卡", "社保卡"), ("暖气", "供暖")], actor=editor("seed"))
    kb.lexicons.set_synonyms([("小区", "住宅小区")], actor=editor("import"), replace=False)
    assert kb.lexicons.synonyms() == {"医保卡": ["社保卡"], "暖气": ["供暖"], "小区": ["住宅小区"]}
    kb.lexicons.set_synonyms([("小区", "住宅小区")], actor=editor("editor"))
    assert kb.lexicons.synonyms() == {"小区": ["住宅小区"]}

    kb.lexicons.set_dict_words([("接诉即办", 3000, "nz"), ("居住证签注", None, "")], actor=editor("seed"))
    kb.lexicons.set_dict_words([("接诉即办", 5000, "nz"), ("一刻钟便民生活圈", None, "nz")], actor=editor("import"),
                               replace=False)
    assert kb.lexicons.dict_words() == [("接诉即办", 5000, "nz"), ("居住证签注", None, ""),
                                        ("一刻钟便民生活圈", None, "nz")]

    kinds = [{"kind": "fire", "label": "火情", "transfer_to": "119", "script": "请立即拨打 119", "severity": 3}]
    kb.lexicons.set_alert_records([{"kind": "fire", "pattern": "着火", "polarity": "trigger", "note": ""}], kinds,
                                  actor=editor("seed"))
    # A term of an existing kind, with no kinds in the file: valid because the base has the kind.
    kb.lexicons.set_alert_records([{"kind": "fire", "pattern": "冒烟", "polarity": "trigger", "note": "新增"}], [],
                                  actor=editor("import"), replace=False)
    terms, got_kinds = kb.lexicons.alert_records()
    assert [t["pattern"] for t in terms] == ["着火", "冒烟"] and [k["kind"] for k in got_kinds] == ["fire"]
    with pytest.raises(ValidationError):  # the merged lexicon is checked: an unknown kind
        kb.lexicons.set_alert_records([{"kind": "gas", "pattern": "煤气味", "polarity": "trigger", "note": ""}], [],
                                      actor=editor("import"), replace=False)


def test_unchanged_list_save_writes_nothing(kb: KnowledgeBase) -> None:
    kb.lexicons.set_places(PLACES, actor=editor("seed"))
    kb.lexicons.set_synonyms([("医保卡", "社保卡")], actor=editor("seed"))
    before = snapshot(kb)
    kb.lexicons.set_places(PLACES, actor=editor("editor"))
    kb.lexicons.set_synonyms([("医保卡", "社保卡")], actor=editor("editor"))
    assert snapshot(kb) == before


def test_sample_reload_keeps_what_editors_added(sqlite_kb: KnowledgeBase) -> None:
    load_lexicons(sqlite_kb)
    sqlite_kb.lexicons.set_synonyms([("共享单车", "互联网租赁自行车")], actor=editor("editor"), replace=False)
    sqlite_kb.lexicons.set_places([{"district": "朝阳区", "street": "测试街道", "aliases": []}], actor=editor("editor"),
                                  replace=False)
    places = len(sqlite_kb.lexicons.places())
    load_lexicons(sqlite_kb)  # huiyin init --force-sample
    assert sqlite_kb.lexicons.synonyms()["共享单车"] == ["互联网租赁自行车"]
    assert len(sqlite_kb.lexicons.places()) == places
