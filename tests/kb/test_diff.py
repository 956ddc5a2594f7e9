"""Character-level, Chinese-aware diff (no database)."""

from __future__ import annotations

import itertools
import random

import pytest

from kb.diff import (
    Segment,
    diff_fields,
    diff_text,
    inline_html,
    side_by_side_document,
    side_by_side_html,
    similarity,
    tokenize,
)


def _joined(segments: list[Segment]) -> tuple[str, str]:
    return "".join(s.old for s in segments), "".join(s.new for s in segments)


def test_tokens_keep_numbers_and_latin_words_whole() -> None:
    assert tokenize("拨打12345热线") == ["拨", "打", "12345", "热", "线"]
    assert tokenize("APP：北京通") == ["APP", "：", "北", "京", "通"]
    assert tokenize("2026-01-31 起") == ["2026-01-31", " ", "起"]
    assert "".join(tokenize("混合 text，３.５元\n第二行")) == "混合 text，３.５元\n第二行"


def test_identical_and_empty() -> None:
    assert diff_text("", "") == []
    assert diff_text("口径", "口径") == [Segment("equal", "口径", "口径")]
    assert diff_text("", "新增") == [Segment("insert", "", "新增")]
    assert diff_text("删除", "") == [Segment("delete", "删除", "")]


def test_single_chinese_character_change() -> None:
    segs = diff_text("卧室温度不应低于18℃", "卧室温度不得低于18℃")
    assert [s.op for s in segs] == ["equal", "replace", "equal"]
    assert segs[1] == Segment("replace", "应", "得")


def test_phone_number_is_replaced_as_a_whole() -> None:
    segs = diff_text("请拨打12333咨询", "请拨打96069咨询")
    changed = [s for s in segs if s.changed]
    assert changed == [Segment("replace", "12333", "96069")]


def test_small_unchanged_runs_between_changes_are_merged() -> None:
    old, new = "自受理之日起三十日内办结", "自受理之日起十五个工作日内办结"
    segs = diff_text(old, new)
    changed = [s for s in segs if s.changed]
    assert len(changed) == 1, segs
    assert "三十" in changed[0].old and "十五个工作" in changed[0].new
    # without merging the same change is a comb of small edits
    assert len([s for s in diff_text(old, new, merge_gap=0) if s.changed]) >= 1
    assert _joined(segs) == (old, new)


def test_insertion_and_deletion_in_long_text() -> None:
    old = "供暖期内卧室、起居室温度不应低于18℃。暖气不热可先检查阀门是否打开。"
    new = "供暖期内卧室、起居室温度不应低于18℃。暖气不热可先检查阀门是否打开、是否需要放气。"
    segs = diff_text(old, new)
    assert [s for s in segs if s.changed] == [Segment("insert", "", "、是否需要放气")]


@pytest.mark.parametrize("seed", range(20))
def test_segments_always_rebuild_both_texts(seed: int) -> None:
    rnd = random.Random(seed)
    alphabet = "社保卡丢失补办请携带身份证到网点12333，。abc \n"
    old = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 80)))
    new = list(old)
    for _ in range(rnd.randint(1, 10)):
        pos = rnd.randint(0, len(new))
        if new and rnd.random() < 0.5:
            del new[min(pos, len(new) - 1)]
        else:
            new.insert(pos, rnd.choice(alphabet))
    new_text = "".join(new)
    segs = diff_text(old, new_text)
    assert _joined(segs) == (old, new_text)
    for a, b in itertools.pairwise(segs):
        assert not (a.op == "equal" and b.op == "equal")


def test_similarity() -> None:
    assert similarity("", "") == 1.0
    assert similarity("暖气不热", "暖气不热") == 1.0
    assert similarity("暖气不热", "社保补办") == 0.0
    assert 0.5 < similarity("暖气不热怎么办", "暖气不热如何处理") < 1.0


def test_html_escapes_and_marks() -> None:
    left, right = side_by_side_html(diff_text("a<b>旧", "a<b>新"))
    assert "&lt;b&gt;" in left and "line-through" in left and ">旧<" in left
    assert ">新<" in right and "旧" not in right
    assert "<br>" in inline_html(diff_text("第一行\n第二行", "第一行\n第三行"))


def test_field_diffs_document() -> None:
    labels = {"title": "标题", "answer": "答复口径"}
    diffs = diff_fields({"title": "同", "answer": "旧口径"}, {"title": "同", "answer": "新口径"}, labels)
    assert [d.changed for d in diffs] == [False, True]
    left, right = side_by_side_document(diffs, only_changed=True)
    assert "答复口径" in left and "标题" not in left and "新" in right
    full_left, _ = side_by_side_document(diffs)
    assert "标题" in full_left
