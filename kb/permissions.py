"""What each role may do: one table of actions, checked by the services before they write.

The services call :func:`require` at the top of every mutating method; the GUI asks :func:`allowed` (and
:func:`can_publish`) to grey out what would be refused. A refusal is :class:`~kb.errors.PermissionDenied`,
whose message (没有权限：…) the GUI and the command line show as it is.
"""

from __future__ import annotations

from typing import Protocol

from kb.actor import Actor
from kb.errors import PermissionDenied
from kb.vocab import EDITOR_ROLES, ROLES

EVERYONE = frozenset(ROLES.codes)
ADMIN = frozenset({"admin"})

# action → (the roles allowed, what the action is in Chinese for the message)
PERMISSIONS: dict[str, tuple[frozenset[str], str]] = {
    "entry.edit": (EDITOR_ROLES, "编辑知识条目"),
    "entry.publish": (EDITOR_ROLES, "发布知识条目"),
    "entry.delete": (EDITOR_ROLES, "删除知识条目"),
    "directory.edit": (EDITOR_ROLES, "编辑承办单位、话术、路由规则和公告"),
    "lexicon.edit": (EDITOR_ROLES, "编辑词库（同义词、词典、警报词库、地名库）"),
    "data.import": (EDITOR_ROLES, "导入数据"),
    "feedback.resolve": (EDITOR_ROLES, "处理坐席反馈"),
    "settings.edit": (ADMIN, "修改全局设置"),
    "user.manage": (ADMIN, "管理用户"),
    "workorder.save": (EVERYONE, "保存工单"),
    "feedback.add": (EVERYONE, "反馈口径问题"),
    "search.log": (EVERYONE, "记录搜索"),
    "shift.end": (EVERYONE, "交班"),
}


def allowed(actor: Actor, action: str) -> bool:
    """Whether ``actor``'s role may do ``action`` (an unknown action is refused to everyone)."""
    roles, _ = PERMISSIONS.get(action, (frozenset(), ""))
    return actor.role in roles


def require(actor: Actor, action: str) -> None:
    """Raise :class:`PermissionDenied` unless ``actor``'s role may do ``action``."""
    if allowed(actor, action):
        return
    roles, label = PERMISSIONS.get(action, (frozenset(), action))
    needed = "、".join(ROLES.label(r) for r in ROLES if r in roles) or "无"
    raise PermissionDenied(f"没有权限：{label}需要以下角色之一：{needed}"
                           f"（{actor.user_id} 的角色是「{actor.role_label}」）", action=action)


class Reviewable(Protocol):
    """What the publishing rule reads of an entry (an :class:`~kb.dto.EntryView` or the stored row)."""

    @property
    def status(self) -> str: ...

    @property
    def updated_by(self) -> str: ...


def require_publish(actor: Actor, entry: Reviewable) -> None:
    """Publishing needs a role that may publish and a reviewer other than the entry's last editor."""
    require(actor, "entry.publish")
    if entry.updated_by == actor.user_id:
        raise PermissionDenied("没有权限：发布需要作者以外的审核人 (reviewer ≠ author)", action="entry.publish")


def can_publish(actor: Actor, entry: Reviewable) -> bool:
    """Whether ``actor`` may publish ``entry`` now: it is in review and the rule above lets them."""
    return entry.status == "review" and allowed(actor, "entry.publish") and entry.updated_by != actor.user_id
