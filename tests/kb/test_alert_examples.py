"""Tests of the example sentences of the alert lexicon (kb.alert_examples and how AlertLexicon uses them)."""

from __future__ import annotations

import pytest

from kb import alerts
from kb.alert_examples import Example, ExampleModel, example_model
from kb.alerts import AlertKind, AlertLexicon, AlertTerm
from kb.errors import ValidationError

KINDS = [
    AlertKind("fire", "火警", "119", "请离开现场", 100),
    AlertKind("medical", "急救", "120", "请保持通话", 90),
]

FIRE = [
    "楼道里一股臭鸡蛋味，很冲",
    "厨房里煤气味特别大，头都晕了",
    "隔壁冒黑烟了，窗户里有火光",
    "仓库着火了，烟很大",
    "楼下电动车烧起来了",
    "燃气管子嘶嘶响，一股煤气味",
]
MEDICAL = [
    "我爸突然晕倒了，叫不醒",
    "老人摔倒了起不来，头上流血",
    "孩子高烧抽搐，嘴唇发紫",
    "我妈胸口疼，喘不上气",
    "有人倒在地上口吐白沫",
]
NONE = [
    "燃气费怎么交",
    "消防通道被车堵了",
    "想问一下社保卡怎么补办",
    "楼下饭店油烟太大",
    "路灯坏了好几天了",
    "上个月着过火，现在想问保险怎么理赔",
    "物业费太贵了",
    "小区垃圾没人清",
]


def examples() -> list[Example]:
    return (
        [Example(t, frozenset({"fire"})) for t in FIRE]
        + [Example(t, frozenset({"medical"})) for t in MEDICAL]
        + [Example(t, frozenset()) for t in NONE]
    )


def lines() -> list[AlertTerm]:
    return (
        [AlertTerm("fire", t, "example") for t in FIRE]
        + [AlertTerm("medical", t, "example") for t in MEDICAL]
        + [AlertTerm("*", t, "counter") for t in NONE]
    )


@pytest.fixture(scope="module")
def model() -> ExampleModel:
    return ExampleModel(examples(), ["fire", "medical", "police"])


def test_an_unseen_paraphrase_scores_for_its_kind(model: ExampleModel) -> None:
    evidence = model.score("我家楼道里煤气味很冲")
    assert evidence["fire"].score > 0 > evidence["medical"].score
    assert model.score("老爷子晕倒了，叫也叫不醒")["medical"].score > 0


def test_an_ordinary_matter_scores_against(model: ExampleModel) -> None:
    evidence = model.score("燃气费怎么补交")
    assert evidence["fire"].score < 0 and evidence["medical"].score < 0


def test_kinds_without_examples_get_no_evidence(model: ExampleModel) -> None:
    assert model.kinds == ("fire", "medical")
    assert "police" not in model.score("有人打架")
    assert model.score("") == {} and model.score("   ") == {}


def test_the_best_window_is_the_clause_that_tells_the_danger(model: ExampleModel) -> None:
    text = "想问一下物业费的事，还有路灯坏了，对了楼道里一股臭鸡蛋味"
    fire = model.score(text)["fire"]
    assert fire.window_score > fire.score
    start, end = fire.window
    assert "臭鸡蛋味" in text[start:end]
    assert "物业费" not in text[start:end]


def test_full_width_letters_and_case_are_folded() -> None:
    model = ExampleModel([Example("ＡＴＭ机被撬了", frozenset({"police"})), Example("atm在哪", frozenset())],
                         ["police"])
    assert model.score("ATM机被撬了")["police"].score == pytest.approx(model.score("ａｔｍ机被撬了")["police"].score)


def test_the_model_is_trained_once_per_set_of_examples() -> None:
    first = example_model(examples(), ["fire", "medical"])
    assert first is not None
    assert example_model(examples(), ["fire", "medical"]) is first
    assert example_model([], ["fire"]) is None
    assert first.size == len(FIRE) + len(MEDICAL) + len(NONE)


# --- in the lexicon ------------------------------------------------------------------------------


def test_example_lines_raise_a_kind_without_any_pattern() -> None:
    lex = AlertLexicon(lines(), KINDS)
    assert lex.examples == len(FIRE) + len(MEDICAL) + len(NONE)
    alerts_ = lex.detect("对面楼窗户冒黑烟，还有火光")
    assert [a.kind for a in alerts_] == ["fire"]
    assert alerts_[0].matched  # the clause that told it, for the agent to see
    assert alerts_[0].matched in "对面楼窗户冒黑烟，还有火光"
    assert lex.detect("燃气费在哪里交") == []


def test_counter_examples_veto_a_pattern_the_examples_disagree_with() -> None:
    terms = [AlertTerm("fire", "火", "trigger")]
    counters = [AlertTerm("*", t, "counter") for t in ("火锅店太吵了", "火锅店油烟大", "火锅店占道经营", "火锅太辣")]
    patterns_only = AlertLexicon(terms, KINDS)
    assert [a.kind for a in patterns_only.detect("楼下火锅店占道")] == ["fire"]
    lex = AlertLexicon([*terms, *lines(), *counters], KINDS)
    assert lex.detect("楼下火锅店占道") == []
    assert [a.kind for a in lex.detect("仓库着火了")] == ["fire"]


def test_a_lexicon_without_examples_fires_on_patterns_alone() -> None:
    lex = AlertLexicon([AlertTerm("fire", "冒烟", "trigger")], KINDS)
    assert lex.examples == 0
    assert [a.matched for a in lex.detect("配电箱冒烟了")] == ["冒烟"]


def test_a_dropped_pattern_counts_against_its_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """A negated trigger ("没有晕倒") is evidence against, not a neutral absence."""
    terms = [AlertTerm("medical", "晕倒", "trigger"), *lines()]
    lex = AlertLexicon(terms, KINDS)
    text = "老人没有晕倒，叫得醒"
    span, evidence, adjust = lex.explain(text)["medical"]
    assert span is None and evidence is not None and adjust == -alerts.DROPPED_PENALTY
    assert lex.explain("老人晕倒了")["medical"][2] == alerts.PATTERN_BONUS
    assert lex.explain("仓库着火了")["fire"][2] == 0.0
    monkeypatch.setattr(alerts, "DROPPED_PENALTY", 0.0)
    monkeypatch.setattr(alerts, "EXAMPLE_THRESHOLD", -1000.0)
    assert "medical" in [a.kind for a in lex.detect(text)]
    monkeypatch.setattr(alerts, "DROPPED_PENALTY", 2000.0)
    monkeypatch.setattr(alerts, "WINDOW_THRESHOLD", 1000.0)
    assert "medical" not in [a.kind for a in lex.detect(text)]


@pytest.mark.parametrize(
    ("term", "message"),
    [
        (AlertTerm("*", "着火了", "example"), "必须指定提醒类型"),
        (AlertTerm("fire", "   ", "example"), "不能为空"),
        (AlertTerm("fire", "火" * 301, "example"), "不能超过 300 字"),
        (AlertTerm("theft", "有小偷", "example"), "未知的提醒类型"),
        (AlertTerm("fire", "着火了", "sample"), "polarity"),
    ],
)
def test_bad_example_lines_are_rejected(term: AlertTerm, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AlertLexicon([term], KINDS)


def test_sentence_lines_are_not_patterns() -> None:
    """An example may hold characters that would be regex syntax in a pattern; a counter may be of one kind."""
    lex = AlertLexicon([AlertTerm("fire", "着火了?! 快来人(真的)", "example"),
                        AlertTerm("medical", "头晕怎么办?", "counter")], KINDS)
    assert lex.examples == 2
    alerts.check_line("着火了?!", "example")
    with pytest.raises(ValidationError):
        alerts.check_line("着火了?!", "trigger")
