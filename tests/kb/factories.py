"""Small builders of realistic test data (no dependency on the shipped sample)."""

from __future__ import annotations

from kb.actor import Actor
from kb.dto import EntryDraft
from kb.service import KnowledgeBase
from kb.services.directory import upsert_department
from kb.services.entries import upsert_entry

DEPARTMENTS = [
    {"external_id": "D-RSJ", "name": "北京市人力资源和社会保障局", "short_name": "市人力社保局", "level": "city",
     "phone": "12333", "duties": "社会保险、劳动关系", "last_verified": "2026-10-01"},
    {"external_id": "D-CY", "name": "朝阳区人民政府", "short_name": "朝阳区政府", "level": "district",
     "district": "朝阳区", "last_verified": "2025-01-01"},
    {"external_id": "D-CY-SLT", "name": "朝阳区三里屯街道办事处", "level": "street", "district": "朝阳区",
     "parent": "D-CY", "phone": "010-64176577", "last_verified": "2026-09-01"},
]


def add_departments(kb: KnowledgeBase) -> None:
    with kb.store.unit() as uow:
        for d in DEPARTMENTS:
            upsert_department(uow, d, actor=Actor.system("test"))


def entry_record(i: int, **over: object) -> dict[str, object]:
    rec: dict[str, object] = {
        "external_id": f"E-{i:05d}",
        "title": f"职工医保门诊报销第{i}问",
        "answer": f"参保职工在定点医疗机构门诊就医，按规定比例报销。第{i}条口径。",
        "aliases": ["看病能报多少", f"门诊报销{i}"],
        "keywords": ["医保", "门诊"],
        "category": "医疗保障/医保报销",
        "department": "D-RSJ",
        "basis": "《社会保险法》",
        "valid_from": "2025-01-01",
        "valid_to": "",
        "status": "published",
    }
    rec.update(over)
    return rec


def save_published(kb: KnowledgeBase, draft: EntryDraft, user: str = "import") -> None:
    """Store an entry with its status as given (the admin import path, no review), recorded as ``user``."""
    with kb.store.unit() as uow:
        upsert_entry(uow, draft, actor=Actor.system(user))
