"""Who handles the case and why: department and category suggestions.

Evidence, each turned into reasons an agent can check at a glance:
(a) routing rules editors maintain (category and/or keywords, optionally a
district), with the territorial fallback "职责不清 → 属地区政府";
(b) the owners of the best-matching knowledge entries;
(c) similar past work orders (see :mod:`indexer.history`, when present).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from indexer.hits import SearchHit
from kb.dto import DepartmentView, RoutingRuleView
from kb.place import Place


@dataclass(frozen=True)
class DepartmentSuggestion:
    id: int
    external_id: str
    name: str
    score: float
    reasons: tuple[str, ...]
    phones: dict[str, str]


@dataclass(frozen=True)
class CategorySuggestion:
    name: str
    score: float


@dataclass
class _Tally:
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)

    def add(self, score: float, reason: str) -> None:
        self.score += score
        if reason not in self.reasons:
            self.reasons.append(reason)


class Router:
    """Ranks departments and categories from rules, matched entries and history."""

    def __init__(self, departments: Sequence[DepartmentView], rules: Sequence[RoutingRuleView]) -> None:
        self.departments = {d.id: d for d in departments if d.active}
        self.rules = [r for r in rules if r.active and r.department_id in self.departments]

    def categories(self, hits: Sequence[SearchHit], limit: int = 3) -> list[CategorySuggestion]:
        votes: dict[str, float] = defaultdict(float)
        for rank, hit in enumerate(hits[:10]):
            if hit.category:
                votes[hit.category] += 1.0 / (rank + 1)
        total = sum(votes.values()) or 1.0
        ranked = sorted(votes.items(), key=lambda kv: -kv[1])[:limit]
        return [CategorySuggestion(name, round(v / total, 4)) for name, v in ranked]

    def departments_for(self, text: str, place: Place, hits: Sequence[SearchHit],
                        categories: Sequence[CategorySuggestion], limit: int = 5) -> list[DepartmentSuggestion]:
        tallies: dict[int, _Tally] = defaultdict(_Tally)
        cats = {c.name: c.score for c in categories}
        for rule in self.rules:
            if rule.district and rule.district != place.district:
                continue
            matched = [k for k in rule.keywords if k and k in text]
            cat_score = max((s for c, s in cats.items()
                             if rule.category and (c == rule.category or c.startswith(rule.category + "/"))),
                            default=0.0)
            if rule.keywords and not matched and not cat_score:
                continue
            if rule.category and not cat_score and not matched:
                continue
            strength = rule.priority / 100.0
            if not rule.keywords and not rule.category:  # territorial fallback
                tallies[rule.department_id].add(0.15 * strength,
                                                rule.note or f"属地兜底：{place.district}")
                continue
            why = rule.note or "路由规则"
            if matched:
                why += f"（关键词「{'、'.join(matched[:3])}」）"
            tallies[rule.department_id].add(strength * (1.0 + 0.2 * len(matched) + cat_score), why)
        top = hits[0].score if hits else 1.0
        for rank, hit in enumerate(hits[:5]):
            if hit.department_id in self.departments:
                weight = 0.8 * (hit.score / top if top else 0.0) / (1 + 0.5 * rank)
                tallies[hit.department_id].add(weight, f"口径「{hit.title}」的承办单位")
        ranked = sorted(tallies.items(), key=lambda kv: -kv[1].score)[:limit]
        return [self._suggestion(dept_id, tally) for dept_id, tally in ranked]

    def _suggestion(self, dept_id: int, tally: _Tally) -> DepartmentSuggestion:
        d = self.departments[dept_id]
        return DepartmentSuggestion(id=d.id, external_id=d.external_id, name=d.name,
                                    score=round(tally.score, 4), reasons=tuple(tally.reasons[:4]), phones=d.phones)
