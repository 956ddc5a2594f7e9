"""Every enumerated code of the domain, declared once, with its Chinese label.

The models' check constraints, the DTOs' defaults, import/export, the forms' combo boxes and the
reports all read these lists; nothing else in ``kb``, ``indexer`` or ``desktop`` spells out a list
of codes (``tests/kb/test_vocab.py`` looks for one). Import accepts a code or its label (``投诉`` or
``complaint``, in any case, blanks around ignored) or one of a few other spellings people use;
export writes codes, or labels with ``huiyin export --labels zh``.

A code is what the database stores and a program exchanges (ASCII, never shown); a label is what a
person reads. Adding a code to a list whose column has a check constraint needs a migration.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from kb.errors import ValidationError


@dataclass(frozen=True)
class Codes:
    """An ordered list of codes with their Chinese labels.

    ``name`` is the field that holds a code of the list (``request_type``), ``title`` the list's
    Chinese name for messages (``诉求类型``); ``aliases`` maps other spellings accepted on import to
    codes; ``keys`` gives the Alt+letter of a code where a form offers the codes as buttons;
    ``default`` is the code of a new record (the first code when not given). An ``extensible``
    list names the codes the product knows; other values are kept as typed.
    """

    name: str
    title: str
    labels: Mapping[str, str]
    aliases: Mapping[str, str] = field(default_factory=dict)
    keys: Mapping[str, str] = field(default_factory=dict)
    default: str = ""
    extensible: bool = False
    _spellings: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for attr in ("labels", "aliases", "keys"):  # read-only for everybody who reads the list
            object.__setattr__(self, attr, MappingProxyType(dict(getattr(self, attr))))
        if not self.default:
            object.__setattr__(self, "default", next(iter(self.labels)))
        self._check()

    def _check(self) -> None:
        """A list that could read one spelling as two codes is a programming error."""
        spellings: dict[str, str] = {}
        for code, label in self.labels.items():
            if not (code.isascii() and code.isidentifier()):
                raise ValueError(f"{self.name}: a code is an ASCII identifier: {code!r}")
            for text in (code, label):
                if spellings.setdefault(text.lower(), code) != code:
                    raise ValueError(f"{self.name}: {text!r} would mean two codes")
        for alias, code in self.aliases.items():
            if code not in self.labels or spellings.setdefault(alias.lower(), code) != code:
                raise ValueError(f"{self.name}: alias {alias!r} → {code!r}")
        if self.default not in self.labels or not set(self.keys) <= set(self.labels):
            raise ValueError(f"{self.name}: default or keys name an unknown code")
        object.__setattr__(self, "_spellings", MappingProxyType(spellings))

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.labels)

    def __iter__(self) -> Iterator[str]:
        return iter(self.labels)

    def __len__(self) -> int:
        return len(self.labels)

    def __contains__(self, code: object) -> bool:
        return code in self.labels

    def label(self, code: str) -> str:
        """The Chinese label of ``code``; an unknown code is shown as it is."""
        return self.labels.get(code, code)

    def items(self) -> Iterator[tuple[str, str]]:
        """(code, label) pairs in order: what a combo box offers."""
        return iter(self.labels.items())

    def choices(self) -> str:
        """The list for a message: ``咨询(consult)、求助(help)…``."""
        return "、".join(f"{label}({code})" for code, label in self.labels.items())

    def lookup(self, value: object) -> str | None:
        """The code for a code, a label or an accepted spelling; None for anything else."""
        text = str(value).strip().lower() if value is not None else ""
        return self._spellings.get(text) if text else None

    def parse(self, value: object, field: str = "") -> str:
        """The code for a code, a label or an accepted spelling (case and surrounding blanks ignored).

        Raises :class:`kb.errors.ValidationError` on ``field`` (default: the list's ``name``) for
        anything else, an empty value included; an ``extensible`` list returns other text as it is.
        """
        code = self.lookup(value)
        if code is None:
            text = str(value).strip() if value is not None else ""
            if text and self.extensible:
                return text
            shown = f"“{text}”" if text else "空值"
            raise ValidationError(f"{field or self.name}: {shown}不是有效的{self.title}，应为 {self.choices()} 之一")
        return code

    def check_sql(self, column: str) -> str:
        """The SQL of a check constraint that ``column`` holds one of the codes."""
        quoted = ", ".join(f"'{c}'" for c in self.labels)
        return f"{column} IN ({quoted})"


# --------------------------------------------------------------------------- work orders (工单)
REQUEST_TYPES = Codes("request_type", "诉求类型", {
    "consult": "咨询", "help": "求助", "complaint": "投诉", "report": "举报", "suggestion": "建议",
    "praise": "表扬"}, aliases={"求决": "help", "意见建议": "suggestion", "表扬感谢": "praise"})
URGENCIES = Codes("urgency", "紧急程度", {"danger": "紧急危险", "urgent": "紧急", "normal": "一般"},
                  aliases={"特急": "danger", "危急": "danger", "加急": "urgent", "普通": "normal"},
                  default="normal")
HANDLINGS = Codes("handling", "办理方式", {"answered": "直接答复", "dispatched": "派单", "transferred": "转接"},
                  aliases={"直办": "answered", "答复": "answered", "转办": "dispatched"})
WORKORDER_STATUSES = Codes("status", "工单状态", {"open": "处理中", "dispatched": "已派单", "returned": "已退回",
                                                  "closed": "已办结"}, aliases={"办结": "closed"})
# The status a new work order takes from how the call was handled (an answered or transferred call is done).
STATUS_OF_HANDLING: Mapping[str, str] = MappingProxyType(
    {"answered": "closed", "dispatched": "dispatched", "transferred": "closed"})

# --------------------------------------------------------------------------- the work-order loop (回访, 退单)
# Declared for the loop that follows a dispatch (no tables yet): a department's reply, the follow-up call.
REPLY_RESULTS = Codes("result", "办理结果", {"resolved": "已解决", "partly": "部分解决", "unresolved": "未解决",
                                             "unresolvable": "无法解决"}, aliases={"解决": "resolved"})
SATISFACTIONS = Codes("satisfaction", "满意度", {"satisfied": "满意", "fairly_satisfied": "基本满意",
                                                 "dissatisfied": "不满意"})
CONTACT_RESULTS = Codes("contact", "回访联系", {"reached": "已联系上", "not_reached": "未联系上"},
                        aliases={"联系上": "reached", "未接通": "not_reached", "无法联系": "not_reached"})
RETURN_REASONS = Codes("reason", "退单原因", {
    "not_our_duty": "非本单位职责", "outside_area": "非本辖区", "incomplete": "诉求信息不全",
    "duplicate": "重复工单", "other": "其他"}, aliases={"职责不符": "not_our_duty", "属地不符": "outside_area"})

# --------------------------------------------------------------------------- knowledge (知识条目)
ENTRY_STATUSES = Codes("status", "条目状态", {"draft": "草稿", "review": "待审核", "published": "已发布",
                                              "archived": "已归档"},
                       aliases={"审核中": "review", "发布": "published", "归档": "archived"})
# The statuses an entry may move to from each status (the editorial workflow).
ENTRY_FLOW: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "draft": ("review", "archived"),
    "review": ("published", "draft", "archived"),
    "published": ("archived", "draft"),
    "archived": ("draft",),
})
# What an entry version records as its action (the history view shows the label); a change of status
# records the new status as the action.
VERSION_ACTIONS = Codes("action", "操作", {
    "create": "新建", "edit": "修改", "import": "导入", "review": "提交审核", "published": "发布",
    "draft": "退回草稿", "archived": "归档", "rollback": "回滚", "schedule_publish": "预约发布",
    "scheduled_publish": "定时发布"})
# The editor's buttons that move an entry to a status, with their Alt+letter.
STATUS_ACTIONS = Codes("status", "条目操作", {
    "review": "提交审核", "published": "审核通过并发布", "draft": "退回草稿", "archived": "归档下架"},
    keys={"review": "R", "published": "P", "draft": "D", "archived": "G"})
FEEDBACK_KINDS = Codes("kind", "反馈类型", {"useful": "有用", "outdated": "过时", "wrong": "有误"},
                       keys={"useful": "Y", "outdated": "O", "wrong": "W"})
# Feedback that flags an entry for the editors (the rest only counts).
FLAG_KINDS: tuple[str, ...] = tuple(k for k in FEEDBACK_KINDS if k != "useful")
# Knowledge gaps the editors see: searches that found nothing or were not used, and flagged entries.
GAP_KINDS = Codes("kind", "知识缺口", {"no_result": "搜索无结果", "not_picked": "推荐未采用",
                                       "outdated": "反馈过时", "wrong": "反馈有误"})
SEARCH_MODES = Codes("mode", "检索方式", {"search": "搜索", "suggest": "推荐"})
ALERT_POLARITIES = Codes("polarity", "警报词类别", {"trigger": "触发", "exclude": "排除", "cue": "线索",
                                                    "example": "例句", "counter": "反例"})

# --------------------------------------------------------------------------- directory (承办单位)
DEPARTMENT_LEVELS = Codes("level", "单位层级", {"city": "市级", "district": "区级", "street": "街道/乡镇",
                                                "enterprise": "企业"},
                          aliases={"街乡镇": "street", "街道": "street", "乡镇": "street", "区": "district",
                                   "市": "city", "公共企业": "enterprise"})

# The kinds of script (话术) the product ships; an editor may add others, which are kept as typed.
SCRIPT_KINDS = Codes("kind", "话术类型", {
    "greeting": "开头语", "closing": "结束语", "dispatch": "派单告知", "followup": "回访", "refusal": "不予受理",
    "soothing": "安抚", "transfer": "转接", "waiting": "请稍候"}, extensible=True)

# --------------------------------------------------------------------------- deadlines (办理时限)
DEADLINE_UNITS = Codes("unit", "时限单位", {"hours": "小时", "calendar_days": "自然日", "working_days": "工作日",
                                            "none": "不设时限"}, aliases={"自然天": "calendar_days"})

# --------------------------------------------------------------------------- people
ROLES = Codes("role", "角色", {"agent": "坐席", "editor": "知识编辑", "reviewer": "审核人", "supervisor": "值班长",
                               "admin": "管理员", "dispatcher": "派单员", "followup": "回访员"},
              aliases={"知识管理员": "editor", "班长": "supervisor", "值班班长": "supervisor"})
# Roles that may open the knowledge editor.
EDITOR_ROLES = frozenset({"editor", "reviewer", "admin"})

ALL: tuple[Codes, ...] = (REQUEST_TYPES, URGENCIES, HANDLINGS, WORKORDER_STATUSES, REPLY_RESULTS, SATISFACTIONS,
                          CONTACT_RESULTS, RETURN_REASONS, ENTRY_STATUSES, VERSION_ACTIONS, STATUS_ACTIONS,
                          FEEDBACK_KINDS, GAP_KINDS, SEARCH_MODES, ALERT_POLARITIES, DEPARTMENT_LEVELS,
                          SCRIPT_KINDS, DEADLINE_UNITS, ROLES)
