"""The seat acts as its settings' user and role; what the role may not do is refused with a Chinese line."""

from __future__ import annotations

import pytest

from desktop import errors
from desktop.tasks import TaskManager
from kb.actor import Actor
from kb.errors import PermissionDenied
from tests.desktop.conftest import Env


def test_the_seat_acts_as_the_settings_user_and_role(env: Env, tasks: TaskManager) -> None:
    assert env.services(tasks).actor == Actor("测试坐席", "agent")
    assert env.services(tasks, role="reviewer").actor == Actor("测试坐席", "reviewer")
    # A role this version does not know (a hand-edited huiyin.ini) gets an agent's rights, not an editor's.
    assert env.services(tasks, role="boss").actor == Actor("测试坐席", "agent")


def test_a_refusal_reaches_the_agent_as_one_chinese_line(env: Env, tasks: TaskManager) -> None:
    seat = env.services(tasks).actor
    with pytest.raises(PermissionDenied) as err:
        env.kb.lexicons.set_synonyms([("医保卡", "社保卡")], actor=seat)
    message = errors.user_message(err.value)
    assert message.startswith("没有权限：编辑词库") and "测试坐席" in message and errors.is_known(err.value)
