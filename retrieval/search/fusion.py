"""Reciprocal rank fusion of ranked lists, with scores mapped to 0–1.

RRF (Cormack et al., 2009) adds weight / (k + rank) over the lists an item appears in;
k = 60 is the usual constant. The sum is divided by the best attainable sum (rank 1 in
every list), so 1.0 means "first by meaning and first by keywords" and the score is
comparable across queries of the same mode. That normalised score is what ``score_threshold``
is compared with.
"""

from __future__ import annotations

K = 60


def reciprocal_rank_fusion(rankings: list[list[int]], *, weights: list[float] | None = None,
                           k: int = K) -> list[tuple[int, float]]:
    """(item, score in 0–1) best first, from lists of items each ordered best first.

    ``weights`` (one per list, default 1) scale each list's contribution, as OpenAI's
    ``hybrid_search.embedding_weight`` / ``text_weight`` do.
    """
    weights = weights if weights is not None else [1.0] * len(rankings)
    if not any(rankings) or not sum(weights):
        return []
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        if not weight:
            continue  # a list of weight 0 contributes no items either
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    best = sum(weights) / (k + 1)
    fused = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(item, min(1.0, score / best)) for item, score in fused]
