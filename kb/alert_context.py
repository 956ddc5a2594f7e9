"""The generic context rules of the alert lexicon: when a match is not a live danger now.

Negation, past, resolved/aftermath, procedure/consultation, near miss and hypothetical cues, in the
match's sentence or clause (:class:`Context`). The rules are described in docs/ARCHITECTURE.md
("Alert lexicon", "Context rules").
"""

from __future__ import annotations

import bisect
import re
from typing import Final

SENTENCE_STOPS: Final = "。！？!?；;\n\r"
"""Characters that end a sentence (the scope of a ``…`` gap and of most context rules)."""
CLAUSE_STOPS: Final = SENTENCE_STOPS + "，,、：:… \u3000\t"
"""Characters that end a clause (the scope of negation, past and procedure cues)."""

# --- Context cues --------------------------------------------------------------------------------
# Each is one compiled alternation; "pseudo" lists mask words that contain a cue but do not carry
# its meaning (没想到 is not a negation, 主要是 is not "if").

_NEG_WINDOW: Final = 6
_NEGATORS: Final = re.compile("并没有|没有|并不是|不是|已经不|从来没|从没|不会|不想|不用|不需要|没|无|未")
_NEG_PSEUDO: Final = re.compile(
    "没想到|没办法|没人管|没人理|没人应|没人接|没多久|没过|没一会|没几|没关|没注意|没锁|没看好|没敢|没准"
    "|不知道|不清楚|不确定|不停|不住|不得了|不行|不了|不管|不一会|不然|不是很|要不是"
    # not wanting to be a burden is a warning sign, not a negation: 不想拖累我们
    "|不想拖累|不想连累|不想再拖累|不想再连累"
    "|无缘无故|无故|无人机|无法|无论|未成年|是不是|有没有|会不会|想不想|用不用"
)
_NEG_BREAK: Final = re.compile("就|才|但|可是|却|所以|结果|然后|而且|现在|突然|又|还")

_PAST_TIME_SOURCE: Final = (
    "上个?月|上个?星期|上周|上礼拜|去年|前年|之前|以前|前几天|前两天|前些天|前段时间|前阵子|上次|上回"
    "|那次|当时|曾经|早些年|那年|昨天|昨晚|前天|小时候|多年前"
    "|[一二两三四五六七八九十几半0-9０-９]+(?:天|个月|年|周|个?星期|个?礼拜)(?:以)?前"
    # a named month dates an event: 三月份出的车祸
    "|(?:[一二三四五六七八九十]|十[一二]|[0-9０-９]{1,2})月份"
    # "V了 + a day or more + 了" is time since a finished event: 手机被偷了一个月了 (but not after a
    # verb that lasts: 坐了一天了, 漏了两天了, 烧了三天了 are still going on)
    "|(?<![坐站等守堵围闹躺跪烧漏冒疼痛吐迷抽哭喊关锁困饿跟])"
    "了[一二两三四五六七八九十几半好0-9０-９]+(?:多)?(?:天|个月|年|周|个?星期|个?礼拜)(?:多)?了"
)
_PAST_TIME: Final = re.compile(_PAST_TIME_SOURCE)
# A clause that only dates the whole sentence's event in the past: "…，上周的事" / "是去年的事了".
_PAST_EVENT_CLAUSE: Final = re.compile(
    f"(?:这是|那是|都是|这都是|是)?(?:{_PAST_TIME_SOURCE})(?:发生)?的(?:事情|事儿|事)(?:了|啦|吧|啊)?"
)
_PAST_ASPECT_PSEUDO: Final = ("过来", "过去", "过不", "过程", "过年", "过节", "过马路", "过路", "过道")
_LEADING_TIME_CLAUSE_EXTRA: Final = 3
_PRESENT: Final = re.compile("现在|目前|此时|此刻|今天|正在|还在|还有|仍然|仍在|依然|一直|越来越|刚才|刚刚|又|马上")
_RESOLVED: Final = re.compile(
    "已经灭了|已经扑灭|扑灭了|灭掉了|火灭了|已经处理|处理好了|处理完了|已经好了|好多了|没事了|已经没事"
    "|已经修好|修好了|已经散了|已经解决|解决了|醒过来了|已经醒了|抢救过来|脱离了?危险|出院了|已经抓到|抓到了"
    # responders already on the scene
    "|(?:救护车|急救车|警察|民警|消防员?|交警|120|110|119)[^。！？!?]{0,6}?(?:已经)?(?:到了|来了|赶到|到场|在处理)"
    # … or already gone with the patient / the offender
    "|(?:救护车|急救车|120|警察|民警|110)[^。！？!?]{0,4}?(?:拉走|接走|送走|带走|送到医院|送去医院|送医院)"
    "|已经(?:送|送到|送去|住进|进了)医院"
)
_AFTERMATH: Final = re.compile(
    "理赔|赔偿|赔付|报销|定损|认定书|责任认定|损失|医药费|维修费|修车费|保险公司|医保能报|医保怎么报|能报多少|赔钱|不赔|赔了"
    "|伤残鉴定|伤残等级|误工费|后遗症|走保险|保险怎么|保险能"
)
_ONGOING: Final = re.compile("正在|还在|还有|又|仍然|仍在|依然|一直|越来越|到现在还|现在还|救命|快来|赶紧|马上|快点")
_PROCEDURE: Final = re.compile(
    "怎么办理|如何办理|办理|怎么申请|如何申请|申请|流程|手续|材料|报销|理赔|赔偿|赔付|保险|补贴|补助"
    "|费用|收费|怎么收|多少钱|怎么交|在哪交|哪里交|缴费|交费|罚款|发票|证明|认定书|责任认定|鉴定|回执"
    "|查询|进度|进展|有没有消息|怎么样了|政策|规定|条例|法规|培训|演练|讲座|宣传|知识|科普|预防|防范"
    "|注意事项|安全检查|安检|报名|登记|志愿者|处理结果|处理意见|处理情况|投诉.{0,10}的处理|隐患"
    "|设置|设立|选址|规划|布点|范围|算不算|属不属于"
    # replacement documents, bookings, permits, a consultation summary (来电人咨询 …), where to buy
    "|补办|怎么补|补发|挂失|预约|审批|报备|许可|咨询|哪里买|哪儿买|在哪买|去哪买|怎么买|购买"
    "|哪里求助|哪儿求助|怎么求助|求助热线|求助电话|电话是多少|电话多少|电话号码|怎么急救|如何急救|想学|交钱"
    # a complaint about how something was handled (the matter itself is over)
    "|要求投诉|我要投诉|我想投诉|想投诉|投诉一下|来投诉"
    # where a service is: 快处中心在哪里, 办事大厅几点上班
    "|(?:中心|大厅|窗口|办事处|服务站|站点|部门)(?:在哪|的地址|地址|电话|几点|上班时间|工作时间)"
    # second-hand news: the danger is the topic of what the caller read or saw, not around them
    "|网上看到|在网上看|(?<!在)网上说|网上传|新闻(?:里|上)?(?:说|报道)|看到(?:一条|个)?新闻|电视上(?:说|播)|视频里"
    "|(?:抖音|微博|快手|朋友圈|小红书|头条|群)(?:上|里)(?:看到|刷到)"
)
_URGENT: Final = re.compile("救命|快来|赶紧|正在|马上|快点")
_RISK_WORD: Final = "隐患"  # a procedure cue (4) for a live danger, the very matter of a risk kind
_HYPOTHETICAL: Final = re.compile(
    "如果|万一|假如|假设|倘若|一旦|(?<![主只需还就不想总也都])要是|可能会|容易|以免|以防|防止|避免|免得"
    # a worry about what could happen (担心是… is doubt about now, and fires)
    "|(?:担心|(?<![害可])怕)(?:会|有(?:人|小偷|贼|车|孩子|老人)|出事|发生|引起|造成|被)"
)
_NEAR_MISS: Final = re.compile("差点|差一点|险些|幸好没|好在没|还好没")
# A caller asking for information (which hospital, is it normal): weak cues alone do not raise an alert.
CONSULT: Final = re.compile(
    "想问|请问|咨询|问一下|问问|挂什么科|看什么科|正常吗|要不要紧|严不严重|哪个医院|哪家医院|哪里可以|去哪里|去哪儿"
)
_THREAT: Final = re.compile(
    # 我就 / 我今天就 / 我们明天就 / 我马上就 …: the caller announces what they will do
    "(?:我们|我|俺们|俺|咱们)(?:今天|明天|今晚|马上|现在|立刻|立马|直接|当场|也|就在这)?就"
    "|就去|就要|就把|就到|就在|就跟|就从|就死|就跳|我会|我们会|大不了|我要|我们要"
)


def _breaks(text: str, stops: str) -> list[int]:
    return [i for i, ch in enumerate(text) if ch in stops]


class Context:
    """Sentence and clause boundaries of one text, computed once per detect call."""

    __slots__ = ("_clause_breaks", "_sentence_breaks", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._sentence_breaks = _breaks(text, SENTENCE_STOPS)
        self._clause_breaks = _breaks(text, CLAUSE_STOPS)

    @staticmethod
    def _span(breaks: list[int], pos: int, size: int) -> tuple[int, int]:
        k = bisect.bisect_left(breaks, pos)
        start = breaks[k - 1] + 1 if k > 0 else 0
        end = breaks[k] if k < len(breaks) else size
        return start, end

    def sentence(self, pos: int) -> tuple[int, int]:
        return self._span(self._sentence_breaks, pos, len(self.text))

    def clause(self, pos: int) -> tuple[int, int]:
        return self._span(self._clause_breaks, pos, len(self.text))

    def suppressed(self, start: int, end: int, *, risk: bool = False) -> bool:
        """True if the context says the match ``text[start:end]`` is not a live danger (with ``risk``,
        for a kind below :data:`kb.alerts.EMERGENCY_SEVERITY`: not a present matter — the hypothetical rule
        and the procedure cue 隐患 do not apply)."""
        text = self.text
        s_start, s_end = self.sentence(start)
        c_start, c_end = self.clause(start)
        clause = text[c_start:c_end]

        if self._negated(c_start, start, c_end):
            return True

        past = (
            _PAST_TIME.search(clause) is not None
            or self._leading_time_clause(s_start, c_start)
            or self._past_event_clause(s_start, s_end)
        )
        if not past and text.startswith("过", end):
            past = not any(text.startswith(p, end) for p in _PAST_ASPECT_PSEUDO)
        if past and _PRESENT.search(clause) is None:
            return True

        over = _RESOLVED.search(text, s_start, s_end) or _AFTERMATH.search(text, s_start, s_end)
        if over is not None and _ONGOING.search(clause) is None:
            return True

        if self._procedure(clause, risk) and _URGENT.search(clause) is None:
            return True
        # … or in the clause where a gap match ends ("几十个业主商量好了，明天一起去物业交钱")
        e_start, e_end = self.clause(end - 1)
        if e_start != c_start:
            last = text[e_start:e_end]
            if self._procedure(last, risk) and _URGENT.search(last) is None:
                return True

        # A near-miss or hypothetical cue may also sit inside a gap pattern's match
        # ("电动车停在楼道里，我担心会起火" matches 电动车…起火).
        if _NEAR_MISS.search(text, c_start, end) is not None:
            return True
        if risk:
            return False
        cue = _HYPOTHETICAL.search(text, s_start, end)
        return cue is not None and _THREAT.search(text, cue.end(), s_end) is None

    @staticmethod
    def _procedure(clause: str, risk: bool) -> bool:
        return any(not risk or m.group() != _RISK_WORD for m in _PROCEDURE.finditer(clause))

    def _negated(self, clause_start: int, start: int, clause_end: int) -> bool:
        prefix = list(self.text[clause_start:start])
        # a pseudo-negation may run into the match (不想|拖累 with the match 拖累): it still masks its negator
        for pseudo in _NEG_PSEUDO.finditer(self.text, clause_start, clause_end):
            if pseudo.start() >= start:
                break
            for i in range(pseudo.start(), min(pseudo.end(), start)):
                prefix[i - clause_start] = "\x00"
        window = "".join(prefix[-_NEG_WINDOW:])
        return any(_NEG_BREAK.search(window, neg.end()) is None for neg in _NEGATORS.finditer(window))

    def _past_event_clause(self, sentence_start: int, sentence_end: int) -> bool:
        """A clause of the sentence that says the event is a past one: "…，上周的事"."""
        if "的事" not in self.text[sentence_start:sentence_end]:
            return False
        pos = sentence_start
        while pos < sentence_end:
            c_start, c_end = self.clause(pos)
            if _PAST_EVENT_CLAUSE.fullmatch(self.text, c_start, c_end) is not None:
                return True
            pos = max(c_end, pos) + 1
        return False

    def _leading_time_clause(self, sentence_start: int, clause_start: int) -> bool:
        """A short clause before the match's, holding little more than a past-time cue (去年冬天，…)."""
        if clause_start <= sentence_start:
            return False
        p_start, p_end = self.clause(clause_start - 1)
        if p_start < sentence_start:
            return False
        cue = _PAST_TIME.search(self.text, p_start, p_end)
        return cue is not None and (p_end - p_start) - len(cue.group()) <= _LEADING_TIME_CLAUSE_EXTRA
