"""Tests of the emergency/risk alert detector (kb.alerts) and its default lexicon (no Qt)."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from kb.alert_patterns import compile_pattern
from kb.alerts import EMERGENCY_SEVERITY, Alert, AlertKind, AlertLexicon, AlertTerm
from kb.errors import StorageError, ValidationError
from tests import alert_phrases

ROOT = Path(__file__).resolve().parents[2]
TERMS = ROOT / "resources" / "sample" / "alert_terms.jsonl"
KINDS = ROOT / "resources" / "sample" / "alert_kinds.jsonl"


@pytest.fixture(scope="module")
def lexicon() -> AlertLexicon:
    return AlertLexicon.from_jsonl(TERMS, KINDS)


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """The phrase table and its scoring, as bench/eval_alerts.py uses them."""
    return alert_phrases


def kinds_of(alerts: list[Alert]) -> list[str]:
    return [a.kind for a in alerts]


KIND = AlertKind("fire", "火警", "119", "请离开现场", 100)


def small(*terms: AlertTerm) -> AlertLexicon:
    return AlertLexicon(terms, [KIND, AlertKind("police", "报警", "110", "请注意安全", 90)])


# --- the default lexicon: indirect positives ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "number"),
    [
        ("楼道里一股臭鸡蛋味", "fire", "96777"),
        ("对面窗户冒黑烟", "fire", "119"),
        ("我家厨房天然气好像漏了，嘶嘶响", "fire", "119"),
        ("楼下有人拿着刀在追人", "police", "110"),
        ("我老公又在打我", "police", "110"),
        ("有人在撬我家门", "police", "110"),
        ("我爸突然晕倒了，叫不醒", "medical", "120"),
        ("孩子发高烧一直在抽", "medical", "120"),
        ("我妈胸口疼，喘不上气", "medical", "120"),
        ("路口两辆车撞了，有人受伤", "traffic", "122"),
        ("一辆货车侧翻在路中间，把路堵死了", "traffic", "122"),
        ("我真的不想活了", "self_harm", "010-82951332"),
        ("有人站在楼顶说要跳下去", "self_harm", "12356"),
        ("再不解决我们就去市政府门口拉横幅", "escalate", "班长"),
        ("我要找媒体曝光你们", "escalate", "班长"),
        # round 7 families: cue pairs, broader slots, conditional threats
        ("地下室配电房传出一股焦臭味，还有点烟", "fire", "119"),
        ("仓库里的纸箱子着了，我们几个人灭不了", "fire", "119"),
        ("我看见有人在车里把一个女孩往车上拽", "police", "110"),
        ("我被几个人围住了，他们说不给钱就不让走", "police", "110"),
        ("来电人称其妻子突发昏厥，目前呼吸微弱", "medical", "120"),
        ("我妈一直说头晕，现在吐了好几次，话都说不清了", "medical", "120"),
        ("一辆运钢筋的卡车急刹车，钢筋滑下来砸到了旁边的车", "traffic", "122"),
        ("如果你们不管，我今天就从这楼上跳下去", "self_harm", "12356"),
        ("我没有活下去的理由了", "self_harm", "12356"),
        ("我弟弟发朋友圈说来生再见，现在电话打不通", "self_harm", "12356"),
        ("我们五十多个工人已经在厂门口坐了一天了", "escalate", "班长"),
        # round 8 families: trapped people, missing children, crimes in progress, bleeding, farewells, protests, media
        ("电梯卡在两层中间不动了，里面关着个老人，已经半个多小时了", "fire", "119"),
        ("孩子把头卡在楼道护栏缝里拔不出来了，一直在哭", "fire", "119"),
        ("有两个钓鱼的被困在河中间的沙洲上，水还在往上涨", "fire", "119"),
        ("学校化学实验楼有股很刺鼻的味道，好几个学生说头晕", "fire", "119"),
        ("我儿子四点就放学了，学校说早走了，到现在没回家，电话手表也打不通", "police", "110"),
        ("我女儿被网上的人骗了，对方还在电话里教她操作，她现在就在银行柜台转账", "police", "110"),
        ("我在网约车上，司机关了导航一直往郊区开，也不说话，我好害怕", "police", "110"),
        ("有个人在班级群里说明天要去学校捅老师，还发了刀的照片", "police", "110"),
        ("我被狗咬了，腿上好深一个口子，血怎么都止不住", "medical", "120"),
        ("我自己现在心慌得厉害，心跳特别快，眼前一阵阵发黑", "medical", "120"),
        ("铁路道口一辆小轿车熄火卡在轨道上了", "traffic", "122"),
        ("下雪路滑，一辆大巴滑到路边沟里了，车上二十多个人", "traffic", "122"),
        ("我妈说她要去陪我爸了，把家里的安眠药都倒出来了", "self_harm", "12356"),
        ("我爸确诊癌症以后一直说不治了，今天我发现他在房梁上挂了绳子", "self_harm", "12356"),
        ("邻居家小伙子失恋了，拿着刀在自己脖子上比划", "self_harm", "12356"),
        ("厂里一百多个工人被欠了半年工资，现在都堵在厂门口不让车出去", "escalate", "班长"),
        ("这件事我已经发微博了，好几个大V都转发了", "escalate", "班长"),
        ("我是晚报的记者，想核实一下你们对这个投诉的处理情况", "escalate", "班长"),
    ],
)
def test_indirect_phrases_fire_with_the_transfer_number(
    lexicon: AlertLexicon, text: str, kind: str, number: str
) -> None:
    alerts = {a.kind: a for a in lexicon.detect(text)}
    assert kind in alerts, text
    alert = alerts[kind]
    assert number in alert.transfer_to
    assert alert.script
    assert alert.matched and alert.matched in text


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("老公突然抽搐，怎么办", "medical"),  # a bare 怎么办 is not a procedure question
        ("着火了怎么办", "fire"),
        ("是不是煤气泄漏了？", "fire"),  # doubt fires
        ("之前就有味，现在煤气味越来越重了", "fire"),  # past cue overridden by the present
        ("要是你们不管，我就从楼上跳下去", "self_harm"),  # a conditional threat still fires
        ("如果不解决我们就去上访", "escalate"),
        ("没人管我们就去上访", "escalate"),  # 没人管 is not a negation
        ("我爸去了那座桥，电话里说不想拖累我们", "self_harm"),  # 不想拖累 is a warning sign, not a negation
        ("有个人在网上说明天去商场砍人", "police"),  # someone posting a threat is not second-hand news
    ],
)
def test_live_danger_in_questions_doubt_and_threats_fires(lexicon: AlertLexicon, text: str, kind: str) -> None:
    assert kind in kinds_of(lexicon.detect(text))


# --- the default lexicon: what must not fire ----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        # negation
        "家里没有煤气味，就是想问燃气表怎么读数",
        "不是着火，是有人在烧烤",
        "老人没有晕倒，只是有点头晕",
        "我不会去上访的，就是希望你们尽快处理",
        # past / resolved
        "去年我家着过一次火，现在想问问保险理赔的事",
        "上个月小区有人跳楼，现在楼下的花坛一直没人修",
        "火已经灭了，现在没事了",
        "之前我们去上访过，现在问题解决了",
        "手机被偷了一个月了，派出所有没有消息",
        # procedure / consultation
        "燃气费怎么交",
        "交通事故的医药费怎么报销",
        "120急救车的费用是怎么收的",
        "如何申请家暴的人身安全保护令",
        "信访事项的办理进度在哪里查",
        # hypothetical, near miss
        "万一家里燃气泄漏了，应该先做什么",
        "如果在高速上出了车祸，应该打哪个电话",
        "小区的健身器材断了，差点把老人摔倒",
        # figures of speech and 12345 matters sharing words
        "这事把我气得要死",
        "火车站附近的出租车乱收费",
        "我都急死了，户口什么时候办下来",
        "这价格要命",
        "业主群都炸了锅",
        "商场跳楼价甩卖",
        "房贷压得我喘不过气",
        "这个路口早晚高峰堵死了，建议加个红绿灯",
        "楼下烧烤店天天冒烟",
        "想死你们了，我来表扬一下",
        "集体户口怎么迁出来",
        "燃气灶打不着火，找谁修",
        # round 7: mentions of a service, hyperbole, lost things, dated or second-hand events
        "我想咨询一下救护车能不能跨市转运",
        "这个队排得我都快晕倒了",
        "请问孩子上学的疫苗本丢了怎么补",
        "我前几天在网上被骗了两千块，已经报警了，想问问能不能追回",
        "我家的车在停车场被人砸了玻璃，监控坏了，物业不管，上周的事",
        "我在网上看到有人说某高速出了车祸，是真的吗",
        "请问燃气泄漏报警器去哪里买",
        "我想问一下燃气表的电池没电了怎么换",
        "热水器漏水了，找谁修",
        # round 8: the same words as the new families, in 12345 matters
        "三月份出的车祸，伤残鉴定到现在都做不下来，想问问找谁",
        "想问问哪里可以给家里老人办防走失手环",
        "我家的烟雾报警器总是误报，半夜响，怎么关掉",
        "小区的电梯经常困人，希望物业维修",
        "电梯等了半天都上不来，物业能不能多派人维护",
        "手机掉进井里了，能不能帮忙捞一下",
        "想问一下管制刀具的范围是什么",
        "我想问问银行柜台转账的手续费是多少",
        "工资到现在还没到账，银行说转账要三天",
        "阳台上晾衣服的绳子断了，物业能修吗",
        "我明天要陪我爸去医院复查",
        "家长们在校门口接孩子，车停得乱七八糟",
        "我们几个业主想一起去物业问问停车费的事",
        "我在抖音上看到你们发的政策解读，有个地方没看懂",
        "化工厂的气味每天晚上都很刺鼻，熏得人头疼，希望环保局来查",
        "冬天用炭盆取暖要注意什么",
        "我是记者，想咨询一下记者证年审在哪里办",
    ],
)
def test_negations_past_procedures_and_figures_of_speech_do_not_fire(lexicon: AlertLexicon, text: str) -> None:
    assert lexicon.detect(text) == [], text


def test_empty_text_has_no_alert(lexicon: AlertLexicon) -> None:
    assert lexicon.detect("") == []
    assert lexicon.detect("   \n") == []


def test_one_alert_per_kind_most_severe_first(lexicon: AlertLexicon) -> None:
    text = "楼下有人打架还拿着刀，旁边的车库着火了，冒黑烟，还有人晕倒了"
    alerts = lexicon.detect(text)
    kinds = kinds_of(alerts)
    assert len(kinds) == len(set(kinds))
    # two events in clauses of their own both show; the examples read "还有人晕倒了" as part of
    # the fire (119 brings 120), so medical does not add a third alert
    assert set(kinds) == {"fire", "police"}
    severities = [a.severity for a in alerts]
    assert severities == sorted(severities, reverse=True)
    assert kinds[0] == "fire"
    patterns_only = AlertLexicon([t for t in lexicon.terms if t.polarity not in ("example", "counter")],
                                 lexicon.kinds)
    assert set(kinds_of(patterns_only.detect(text))) == {"fire", "police", "medical"}


def test_an_editor_fixes_a_miss_with_an_example_line(lexicon: AlertLexicon) -> None:
    """The examples read a repair complaint here and outweigh the trigger 煤气泄漏; adding the call
    as an example sentence fixes it, and its paraphrases too."""
    missed = "我要投诉燃气公司，煤气泄漏报修了三天没人来"
    assert "fire" not in kinds_of(lexicon.detect(missed))
    fixed = AlertLexicon([*lexicon.terms, AlertTerm("fire", missed, "example")], lexicon.kinds)
    assert fixed.examples == lexicon.examples + 1
    assert "fire" in kinds_of(fixed.detect(missed))
    assert "fire" in kinds_of(fixed.detect("我要投诉燃气公司，天然气泄漏报修了两天没人管"))
    assert kinds_of(fixed.detect("我要投诉燃气公司，燃气费多收了三天没人管")) == []


# --- context rules on a hand-made lexicon --------------------------------------------------------


def test_exclude_suppresses_only_the_trigger_it_overlaps() -> None:
    lex = small(AlertTerm("fire", "火", "trigger"), AlertTerm("fire", "火车站", "exclude"))
    assert lex.detect("火车站到了") == []
    alerts = lex.detect("火车站旁边的仓库起火了")
    assert [a.matched for a in alerts] == ["火"]


def test_shared_exclude_applies_to_every_kind() -> None:
    lex = small(
        AlertTerm("fire", "堵", "trigger"),
        AlertTerm("police", "堵", "trigger"),
        AlertTerm("*", "消防通道", "exclude"),
        AlertTerm("*", "通道…堵", "exclude"),
    )
    assert lex.detect("消防通道被堵了") == []


def test_negation_window_and_pseudo_negations() -> None:
    lex = small(AlertTerm("fire", "冒烟", "trigger"))
    assert lex.detect("没有冒烟") == []
    assert lex.detect("屋里并没有看到冒烟") == []
    assert kinds_of(lex.detect("没想到突然冒烟了")) == ["fire"]
    assert kinds_of(lex.detect("是不是冒烟了")) == ["fire"]
    assert kinds_of(lex.detect("没人在家，屋里冒烟了")) == ["fire"]  # other clause


def test_past_event_clause_and_lasting_verbs() -> None:
    lex = small(AlertTerm("police", "砸…车", "trigger"), AlertTerm("fire", "漏气", "trigger"))
    assert lex.detect("车被人砸了，物业不管，上周的事") == []  # a clause dates the whole sentence
    assert lex.detect("车被人砸了，是去年的事了") == []
    assert kinds_of(lex.detect("有人在砸车，上周也砸过")) == ["police"]  # not a dating clause
    assert lex.detect("漏气的管子换了一个月了") == []  # time since a finished event
    assert kinds_of(lex.detect("管子漏气漏了两天了")) == ["fire"]  # a lasting verb: still going on


def test_hypothetical_or_near_miss_inside_a_gap() -> None:
    lex = small(AlertTerm("fire", "电动车…起火", "trigger"), AlertTerm("police", "车…撞", "trigger"))
    assert lex.detect("电动车停在楼道里，我担心会起火") == []
    assert lex.detect("车开过来差点撞到我") == []
    assert kinds_of(lex.detect("电动车停在楼道里起火了")) == ["fire"]


def test_conditional_threat_with_a_time_word_fires() -> None:
    lex = small(AlertTerm("police", "跳下去", "trigger"))
    assert kinds_of(lex.detect("如果你们不管，我今天就从这楼上跳下去")) == ["police"]
    assert lex.detect("如果有人跳下去，物业要负责吗") == []


def test_second_hand_news_and_service_questions_do_not_fire() -> None:
    lex = small(AlertTerm("fire", "着火", "trigger"), AlertTerm("police", "家暴", "trigger"))
    assert lex.detect("我在网上看到有人说小区着火了，是真的吗") == []
    assert lex.detect("抖音上刷到小区着火了") == []
    assert lex.detect("请问家暴可以去哪里求助") == []
    assert lex.detect("家暴的范围包括哪些") == []
    assert kinds_of(lex.detect("楼下着火了，消防中心在哪")) == ["fire"]  # another clause: in doubt, fire
    assert kinds_of(lex.detect("有人在网上说要去小区着火")) == ["fire"]  # someone posting is not news


def test_a_named_month_dates_the_event_and_assessments_mean_it_is_over() -> None:
    lex = small(AlertTerm("police", "车祸", "trigger"))
    assert lex.detect("三月份出的车祸") == []
    assert lex.detect("车祸以后伤残鉴定一直做不下来") == []
    assert kinds_of(lex.detect("三月份的时候说好了，现在前面出车祸了")) == ["police"]


def test_a_pseudo_negation_running_into_the_match_does_not_negate() -> None:
    lex = small(AlertTerm("police", "拖累", "trigger"))
    assert kinds_of(lex.detect("他说不想拖累我们")) == ["police"]
    assert lex.detect("他没有拖累我们") == []


# --- cues: two different weak signs in one sentence --------------------------------------------


def cue_lexicon() -> AlertLexicon:
    return small(
        AlertTerm("fire", "(有|冒)烟", "cue"),
        AlertTerm("fire", "(焦|糊)味", "cue"),
        AlertTerm("fire", "(噼啪|砰的一声)", "cue"),
        AlertTerm("fire", "烧烤…(烟|味)", "exclude"),
    )


def test_two_different_cues_in_a_sentence_fire() -> None:
    lex = cue_lexicon()
    alerts = lex.detect("配电房一股焦味，还有烟")
    assert kinds_of(alerts) == ["fire"]
    assert alerts[0].matched == "焦味，还有烟"
    assert kinds_of(lex.detect("砰的一声，冒烟了")) == ["fire"]


def test_one_cue_or_one_cue_line_twice_does_not_fire() -> None:
    lex = cue_lexicon()
    assert lex.detect("屋里有烟") == []
    assert lex.detect("有烟，又冒烟") == []  # the same line twice
    assert lex.detect("有焦味。楼下冒烟") == []  # two sentences


def test_cues_obey_excludes_and_context_rules() -> None:
    lex = cue_lexicon()
    assert lex.detect("楼下烧烤有烟，一股焦味") == []  # the exclude covers both cues
    assert lex.detect("没有焦味，也没有烟") == []  # negated
    assert lex.detect("上个月有焦味，冒烟") == []  # past


def test_a_trigger_wins_over_cues() -> None:
    lex = small(
        AlertTerm("fire", "着火", "trigger"), AlertTerm("fire", "有烟", "cue"), AlertTerm("fire", "焦味", "cue")
    )
    assert [a.matched for a in lex.detect("有烟，焦味，着火了")] == ["着火"]


def test_cues_do_not_fire_when_the_caller_asks_for_information() -> None:
    lex = small(AlertTerm("fire", "(有|冒)烟", "cue"), AlertTerm("fire", "(焦|糊)味", "cue"))
    assert lex.detect("插座有焦味，还冒烟，想问问找哪个部门修") == []
    assert kinds_of(lex.detect("插座有焦味，还冒烟")) == ["fire"]


def test_exclude_gaps_reach_the_farthest_end_word() -> None:
    lex = small(AlertTerm("fire", "焦味", "trigger"), AlertTerm("fire", "烧烤…(烟|味)", "exclude"))
    assert lex.detect("楼下烧烤店油烟很大，还有股焦味") == []
    assert kinds_of(lex.detect("楼下烧烤店油烟很大。楼道里有股焦味")) == ["fire"]  # another sentence


def test_procedure_cue_where_a_gap_match_ends() -> None:
    lex = small(AlertTerm("police", "业主…去", "trigger"))
    assert lex.detect("几十个业主商量好了，明天一起去物业交钱") == []
    assert kinds_of(lex.detect("几十个业主商量好了，明天一起去物业")) == ["police"]


def test_a_cue_needs_a_kind() -> None:
    with pytest.raises(ValidationError):
        small(AlertTerm("*", "烟", "cue"))


def test_prefilter_never_hides_a_match(lexicon: AlertLexicon, bench: ModuleType) -> None:
    """The character prefilter is only a shortcut: wherever a pattern matches, it must let the text through."""
    texts = [p.text for p in bench.read_phrases(bench.DEFAULT_CSV)] + ["发到b站上", "发到B站上"]
    compiled = [c for group in lexicon._triggers.values() for c in group]
    compiled += [c for group in lexicon._cues.values() for c in group]
    compiled += [c for group in lexicon._excludes.values() for c in group]
    for text in texts:
        chars = frozenset(text.lower())
        for c in compiled:
            if c.regex.search(text):
                assert c.prefilter.admits(chars), (c.term.pattern, text)


def test_key_character_index_keeps_every_admitted_line(lexicon: AlertLexicon, bench: ModuleType) -> None:
    """A text tries exactly the lines whose prefilter admits it, in lexicon order."""
    groups = [*lexicon._trigger_groups.values(), *lexicon._cue_groups.values(), *lexicon._exclude_groups.values()]
    groups.append(lexicon._shared_group)
    for phrase in bench.read_phrases(bench.DEFAULT_CSV)[::7]:
        chars = frozenset(phrase.text.lower())
        for group in groups:
            assert group.candidates(chars) == [c for c in group.items if c.prefilter.admits(chars)]


# --- pattern syntax ------------------------------------------------------------------------------


def test_plain_pattern_syntax() -> None:
    assert compile_pattern("煤气味").search("楼道里一股煤气味")
    rx = compile_pattern("(煤气|燃气)罐…漏")
    assert rx.search("燃气罐好像在漏")
    assert rx.search("煤气罐，阀门坏了，在漏")  # a comma does not end the gap
    assert not rx.search("燃气罐。楼上漏水")  # a sentence end does
    assert not rx.search("燃气罐" + "很" * 11 + "漏")  # more than 10 characters
    assert compile_pattern("煤气罐...漏").pattern == rx.pattern.replace("(?:煤气|燃气)", "煤气")
    optional = compile_pattern("晕(倒|过去)(了|)")
    assert optional.search("晕倒") and optional.search("晕过去了")
    assert compile_pattern("关(起来|在…里)").search("被关在地下室里")
    assert compile_pattern("re:打(我|她)(?!电话)").search("他又打我了")
    assert compile_pattern("120").search("快叫120")


@pytest.mark.parametrize(
    "pattern",
    [
        "",
        "   ",
        "(煤气|燃气",
        "煤气)",
        "a|b",
        "((a|b)|c)",
        "…漏",
        "漏…",
        "(|)",
        "(漏|…)",
        "re:",
        "re:(",
        "re:a*",
        "煤气?",
        "打(我|她)$",
        "[火灾]",
    ],
)
def test_invalid_pattern_raises_validation_error(pattern: str) -> None:
    with pytest.raises(ValidationError):
        compile_pattern(pattern)
    with pytest.raises(ValidationError):
        small(AlertTerm("fire", pattern, "trigger"))


@pytest.mark.parametrize(
    "term",
    [
        AlertTerm("flood", "水", "trigger"),  # unknown kind
        AlertTerm("fire", "火", "maybe"),  # unknown polarity
        AlertTerm("*", "火", "trigger"),  # a trigger needs a kind
    ],
)
def test_invalid_term_raises_validation_error(term: AlertTerm) -> None:
    with pytest.raises(ValidationError):
        small(term)


def test_duplicate_kind_raises_validation_error() -> None:
    with pytest.raises(ValidationError):
        AlertLexicon([], [KIND, KIND])


# --- records / storage round trip ----------------------------------------------------------------


def test_round_trip_through_records(lexicon: AlertLexicon) -> None:
    terms = [dataclasses.asdict(t) for t in lexicon.terms]
    kinds = [{**dataclasses.asdict(k), "id": i} for i, k in enumerate(lexicon.kinds)]  # extra keys ignored
    again = AlertLexicon.from_records(terms, kinds)
    assert again.terms == lexicon.terms
    assert again.kinds == lexicon.kinds
    text = "楼道里一股臭鸡蛋味，有人晕倒了"
    assert again.detect(text) == lexicon.detect(text)


def test_records_default_note_and_reject_missing_fields() -> None:
    lex = AlertLexicon.from_records(
        [
            {"kind": "fire", "pattern": "火苗", "polarity": "trigger"},
            {"kind": "fire", "pattern": "冒烟", "polarity": "trigger", "note": None},
        ],
        [dataclasses.asdict(KIND)],
    )
    assert lex.terms == (AlertTerm("fire", "火苗", "trigger", ""), AlertTerm("fire", "冒烟", "trigger", ""))
    with pytest.raises(ValidationError):
        AlertLexicon.from_records([{"kind": "fire", "polarity": "trigger"}], [dataclasses.asdict(KIND)])
    with pytest.raises(ValidationError):
        AlertLexicon.from_records([], [{**dataclasses.asdict(KIND), "severity": "high"}])


def test_from_jsonl_reports_bad_lines_and_missing_files(tmp_path: Path) -> None:
    kinds = tmp_path / "kinds.jsonl"
    kinds.write_text(json.dumps(dataclasses.asdict(KIND), ensure_ascii=False) + "\n", encoding="utf-8")
    terms = tmp_path / "terms.jsonl"
    terms.write_text('{"kind": "fire", "pattern": "火苗", "polarity": "trigger"}\n\n{oops\n', encoding="utf-8")
    with pytest.raises(ValidationError, match="第 3 行"):
        AlertLexicon.from_jsonl(terms, kinds)
    with pytest.raises(StorageError):
        AlertLexicon.from_jsonl(tmp_path / "missing.jsonl", kinds)


def test_default_lexicon_covers_the_seven_kinds(lexicon: AlertLexicon) -> None:
    names = {k.kind for k in lexicon.kinds}
    assert names == {"police", "fire", "medical", "traffic", "self_harm", "escalate", "hazard"}
    triggered = {t.kind for t in lexicon.terms if t.polarity == "trigger"}
    assert triggered == names
    cued = {t.kind for t in lexicon.terms if t.polarity == "cue"}
    assert cued <= names and len(cued) >= 4
    # the emergencies (transfer now) and the risks (a work order, the team lead)
    emergencies = {k.kind for k in lexicon.kinds if k.severity >= EMERGENCY_SEVERITY}
    assert emergencies == {"police", "fire", "medical", "traffic", "self_harm"}


# --- fire hazards (消防隐患): a work order for the fire brigade's daily line, not a 119 transfer ----


@pytest.mark.parametrize(
    "text",
    [
        "楼道里有人给电动车充电",  # issue #16: raised the red fire banner with "我现在为您转接119"
        "楼道里电动车充电有人管吗",
        "小区消防通道被私家车占了",
        "邻居家的电动车停在楼道里，我担心会起火",
        "楼道里堆满了杂物，消防通道被堵死了",
        "燃气管道老化了，我担心会漏气",
    ],
)
def test_a_fire_hazard_is_a_hazard_not_a_119_transfer(lexicon: AlertLexicon, text: str) -> None:
    alerts = lexicon.detect(text)
    assert kinds_of(alerts) == ["hazard"], text
    hazard = alerts[0]
    assert not hazard.emergency
    assert "96119" in hazard.transfer_to and "工单" in hazard.script


@pytest.mark.parametrize(
    "text",
    ["楼道里的电动车充电时冒烟了", "电动车在楼道里着火了", "闻到楼道里有煤气味", "我家燃气灶旁边一股煤气味，好像漏了"],
)
def test_real_fires_and_gas_leaks_in_the_same_places_still_raise_119(lexicon: AlertLexicon, text: str) -> None:
    alerts = lexicon.detect(text)
    assert alerts and alerts[0].kind == "fire" and alerts[0].emergency, text
    assert "119" in alerts[0].transfer_to


def test_emergency_follows_the_kinds_severity() -> None:
    kinds = [AlertKind("fire", "火警", "119", "转119", EMERGENCY_SEVERITY),
             AlertKind("hazard", "隐患", "派单", "登记工单", EMERGENCY_SEVERITY - 1)]
    lex = AlertLexicon([AlertTerm("fire", "着火", "trigger"), AlertTerm("hazard", "堆满杂物", "trigger")], kinds)
    alerts = lex.detect("楼道堆满杂物，已经着火了")
    assert [(a.kind, a.emergency) for a in alerts] == [("fire", True), ("hazard", False)]


def test_a_risk_kind_is_not_dropped_for_being_a_risk() -> None:
    """The hypothetical rule and the procedure cue 隐患 mean "no live danger": they suppress an
    emergency kind's trigger, not a risk kind's, whose very matter is the risk."""
    lines = [AlertTerm("fire", "楼道…充电", "trigger"), AlertTerm("hazard", "楼道…充电", "trigger")]
    for severity, expected in ((90, []), (40, ["hazard"])):
        kinds = [AlertKind("fire", "火警", "119", "转119", 100), AlertKind("hazard", "隐患", "派单", "登记", severity)]
        lex = AlertLexicon(lines, kinds)
        assert kinds_of(lex.detect("万一着火怎么办，楼道里天天有人充电")) == expected
        assert kinds_of(lex.detect("楼道里充电存在隐患")) == expected
        assert lex.detect("没有人在楼道里充电") == []  # a negation still holds for both


# --- labelled phrases (bench/data/alert_phrases.csv) ---------------------------------------------


def test_phrase_file_is_well_formed(bench: ModuleType, lexicon: AlertLexicon) -> None:
    phrases = bench.read_phrases(bench.DEFAULT_CSV)
    allowed = {k.kind for k in lexicon.kinds} | {"none"}
    assert len(phrases) >= 160
    assert {p.split for p in phrases} == {"dev", "test"}
    assert all(p.expected in allowed and p.also <= allowed for p in phrases)
    for kind in allowed - {"none"}:
        assert sum(p.expected == kind for p in phrases) >= 10, kind


def _split(bench: ModuleType, lexicon: AlertLexicon, split: str) -> Any:
    """Micro-averaged counts over the alert kinds for one split (a ``Counts`` of the bench)."""
    phrases = [p for p in bench.read_phrases(bench.DEFAULT_CSV) if p.split == split]
    return bench.score(lexicon, phrases).overall


def test_test_split_meets_precision_target(bench: ModuleType, lexicon: AlertLexicon) -> None:
    """The issue's target on text the lexicon was not built from (batch 1 and blind batches 4 and 5)."""
    overall = _split(bench, lexicon, "test")
    assert overall.precision >= 0.90


def test_test_split_meets_recall_target(bench: ModuleType, lexicon: AlertLexicon) -> None:
    overall = _split(bench, lexicon, "test")
    assert overall.recall >= 0.95


def test_test_split_does_not_regress(bench: ModuleType, lexicon: AlertLexicon) -> None:
    """Guard the level reached on the test split: all kinds recall 0.963, precision 0.948; the six
    kinds before the hazard kind recall 0.975, precision 0.950 (0.975 / 0.938 without it, same rows)."""
    overall = _split(bench, lexicon, "test")
    assert overall.recall >= 0.96
    assert overall.precision >= 0.94
    phrases = [p for p in bench.read_phrases(bench.DEFAULT_CSV) if p.split == "test"]
    report = bench.score(lexicon, phrases)
    before = bench.Counts()
    for kind, counts in report.per_kind.items():
        if kind != "hazard":
            before.tp, before.fp, before.fn = before.tp + counts.tp, before.fp + counts.fp, before.fn + counts.fn
    assert before.recall >= 0.97
    assert before.precision >= 0.945
    hazard = report.per_kind["hazard"]  # blind batch 7: 0.913 / 0.750
    assert hazard.precision >= 0.9
    assert hazard.recall >= 0.7


def test_no_tuned_phrase_is_in_the_test_split(bench: ModuleType) -> None:
    """Phrases the lexicon was tuned on (probes, round-N dev, batches tuned on) must stay out of the test split."""
    tuned = ("probe round", "round ", "batch 2 (tuned on", "batch 3 (tuned on", "examples ")
    test = [p for p in bench.read_phrases(bench.DEFAULT_CSV) if p.split == "test"]
    assert test
    assert not [p.text for p in test if p.note.startswith(tuned)]


def test_no_test_phrase_is_an_example_sentence(bench: ModuleType, lexicon: AlertLexicon) -> None:
    """The shipped example and counter sentences are the dev rows, never a test row."""
    sentences = {t.pattern for t in lexicon.terms if t.polarity in ("example", "counter")}
    dev = {p.text.strip() for p in bench.read_phrases(bench.DEFAULT_CSV) if p.split == "dev"}
    test = {p.text.strip() for p in bench.read_phrases(bench.DEFAULT_CSV) if p.split == "test"}
    assert sentences == dev
    assert not sentences & test
    assert lexicon.examples == len(dev)


def test_shipped_examples_are_generated_from_the_phrase_table() -> None:
    """resources/sample/alert_terms.jsonl holds what tools/gen_alert_examples.py writes."""
    spec = importlib.util.spec_from_file_location("gen_alert_examples", ROOT / "tools" / "gen_alert_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.render() == TERMS.read_text(encoding="utf-8")


def test_dev_split_stays_clean(bench: ModuleType, lexicon: AlertLexicon) -> None:
    """Lexicon edits must keep the tuning and example phrases right (recall 1.000, precision 0.973:
    the examples of one kind sometimes raise a second kind their writers did not mark)."""
    overall = _split(bench, lexicon, "dev")
    assert overall.recall >= 0.99
    assert overall.precision >= 0.96


def test_shared_lexicon_is_built_once_per_content(monkeypatch: pytest.MonkeyPatch) -> None:
    """The window, the engine and the editor share one compiled lexicon; concurrent callers wait for one build."""
    import threading

    from kb import alerts as module
    from kb.alert_examples import Memo

    builds: list[int] = []
    real: Callable[[type[AlertLexicon], Any, Any], AlertLexicon]
    real = AlertLexicon.from_records.__func__  # type: ignore[attr-defined]  # typeshed: no __func__ on a bound method

    def counting(cls: type[AlertLexicon], terms: Any, kinds: Any) -> AlertLexicon:
        builds.append(1)
        return real(cls, terms, kinds)

    monkeypatch.setattr(AlertLexicon, "from_records", classmethod(counting))
    monkeypatch.setattr(module, "_SHARED", Memo(2))
    terms = [{"kind": "fire", "pattern": "冒烟", "polarity": "trigger"}]
    kinds = [dataclasses.asdict(KIND)]
    got: list[AlertLexicon] = []
    threads = [threading.Thread(target=lambda: got.append(AlertLexicon.shared(terms, kinds))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1 and all(lex is got[0] for lex in got)
    other = AlertLexicon.shared([*terms, {"kind": "fire", "pattern": "着火", "polarity": "trigger"}], kinds)
    assert other is not got[0] and len(builds) == 2
    assert AlertLexicon.shared(terms, kinds) is got[0]  # the two most recent stay
    with pytest.raises(ValidationError):
        AlertLexicon.shared([{"kind": "flood", "pattern": "水", "polarity": "trigger"}], kinds)
