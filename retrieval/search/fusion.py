"""Reciprocal rank fusion of ranked lists, with scores mapped to 0–1.

RRF (Cormack et al., 2009) adds 1 / (k + rank) over the lists an item appears in; k = 60
is the usual constant. The sum is divided by the best attainable sum (rank 1 in every
list), so 1.0 means "first by meaning and first by keywords" and the score is comparable
across queries of the same mode. That normalised score is what ``score_threshold``
is compared with.
"""

from __future__ import annotations

K = 60


def reciprocal_rank_fusion(rankings: list[list[int]], *, k: int = K) -> list[tuple[int, float]]:
    """(item, score in 0–1) best first, from lists of items each ordered best first."""
    lists = [r for r in rankings if r]
    if not lists:
        return []
    scores: dict[int, float] = {}
    for ranking in lists:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    best = len(rankings) / (k + 1)
    fused = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(item, min(1.0, score / best)) for item, score in fused]
