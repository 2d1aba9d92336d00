"""The three measurements of the retrieval benchmark (each returns a JSON-able dict of raw numbers)."""

from __future__ import annotations

import json
import os
import random
import statistics
import time

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction

from bench.retrieval.corpus import build
from retrieval.chunking import chunk_text
from retrieval.embedding import current_embedder
from retrieval.embedding.local import LocalMiniLM
from retrieval.models import Chunk, VectorStore, VectorStoreFile
from retrieval.search.backend import keyword_search
from retrieval.search.service import search_stores


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _ms(values: list[float]) -> dict:
    return {"p50_ms": round(_pct(values, 0.5) * 1000, 2), "p99_ms": round(_pct(values, 0.99) * 1000, 2),
            "mean_ms": round(statistics.fmean(values) * 1000, 2), "n": len(values)}


def _user(name: str):
    user, _ = get_user_model().objects.get_or_create(username=name)
    return user


def _long_text(words: int, seed: int = 1) -> str:
    passages, _ = build(200, seed=seed)
    text = " ".join(p["text"] for p in passages)
    return " ".join(text.split()[:words])


def ingestion(*, n_chunks: int) -> dict:
    """Embedding throughput for several batch/thread settings, at ~200- and 800-token chunks."""
    text = _long_text(n_chunks * 200)
    small = [c.text for c in chunk_text(text, max_tokens=200, overlap=0)][:n_chunks]
    large = [c.text for c in chunk_text(text, max_tokens=800, overlap=400)][:max(8, n_chunks // 4)]
    cores = os.cpu_count() or 1
    out = {"chunks_200_tokens": len(small), "chunks_800_tokens": len(large), "configs": []}
    for threads, batch in [(1, 1), (cores, 1), (1, 8), (cores, 8), (cores, 32)]:
        model = LocalMiniLM(threads=threads, batch_size=batch)
        model.embed(small[:4])  # load and warm
        t0 = time.perf_counter()
        model.embed(small)
        t_small = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.embed(large)
        t_large = time.perf_counter() - t0
        out["configs"].append({"intra_op_threads": threads, "batch_size": batch,
                               "chunks_per_s_200_tokens": round(len(small) / t_small, 2),
                               "chunks_per_s_800_tokens": round(len(large) / t_large, 2)})
    # The whole pipeline for one file: parse, chunk (auto), embed (default settings), store.
    from files.services import file_create
    from retrieval.services.files import attach_files
    from retrieval.services.ingest import ingest
    from retrieval.services.stores import store_create
    from retrieval.worker import claim

    user = _user("bench-ingest")
    store = store_create(user=user, name="ingest", description=None, metadata={}, expires_after=None,
                         file_ids=[], chunking_strategy=None)
    f = file_create(user=user, content=text.encode(), filename="bench.txt", purpose="assistants")
    attach_files(store=store, user=user, items=[{"file_id": f.id, "chunking_strategy": {
        "type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 0}}}])
    t0 = time.perf_counter()
    pk = claim("bench")
    status = ingest(pk, "bench")
    elapsed = time.perf_counter() - t0
    chunks = Chunk.objects.filter(store_file_id=pk).count()
    out["pipeline_200_token_chunks"] = {"status": status, "chunks": chunks, "seconds": round(elapsed, 2),
                                        "chunks_per_s": round(chunks / elapsed, 2), "bytes": len(text.encode())}
    return out


def _zipf_vocabulary(size: int, rng: random.Random) -> tuple[list[str], list[float]]:
    """Pseudo-words with cumulative Zipf weights (word k has weight 1/k), as word frequencies in text have."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = sorted({"".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(size * 2)})[:size]
    rng.shuffle(words)
    cumulative, total = [], 0.0
    for k in range(len(words)):
        total += 1.0 / (k + 1)
        cumulative.append(total)
    return words, cumulative


def fill_store(n_chunks: int, dim: int, name: str, owner=None) -> tuple[VectorStore, list[str]]:
    """A completed store of ``n_chunks`` chunks (random unit vectors, Zipf-distributed words) and queries,
    owned by ``owner`` (default: the user bench-search)."""
    rng = np.random.default_rng(3)
    pyrng = random.Random(5)
    vocab, cumulative = _zipf_vocabulary(20000, pyrng)
    embedder = current_embedder()
    store = VectorStore.objects.create(owner=owner or _user("bench-search"), name=name, embedding_model=embedder.name,
                                       embedding_dimension=dim)
    per_file = 100
    with transaction.atomic():
        files = VectorStoreFile.objects.bulk_create([
            VectorStoreFile(vector_store=store, file_id=f"file-bench{i}", filename=f"doc{i}.txt", status="completed",
                            attributes={"group": i % 4}) for i in range((n_chunks + per_file - 1) // per_file)])
    batch = []
    for i in range(n_chunks):
        v = rng.standard_normal(dim).astype(np.float32)
        v /= np.linalg.norm(v)
        text = " ".join(pyrng.choices(vocab, cum_weights=cumulative, k=150))
        batch.append(Chunk(vector_store=store, store_file=files[i // per_file], seq=i % per_file, text=text,
                           tokens=150, vector=v.tobytes()))
        if len(batch) == 2000:
            Chunk.objects.bulk_create(batch)
            batch = []
    if batch:
        Chunk.objects.bulk_create(batch)
    # Questions: a few stopwords around words of the same distribution.
    queries = [f"what is the {' '.join(pyrng.choices(vocab, cum_weights=cumulative, k=4))} of this"
               for _ in range(1000)]
    return store, queries


def latency(*, n_chunks: int, n_queries: int) -> dict:
    """Search latency (hybrid, vector-only, with a filter) over a store of ``n_chunks`` chunks."""
    dim = current_embedder().embed(["warm up"]).shape[1]
    t0 = time.perf_counter()
    store, questions = fill_store(n_chunks, dim, f"latency-{n_chunks}")
    fill_s = time.perf_counter() - t0
    questions = questions[:n_queries]
    t0 = time.perf_counter()
    search_stores([store], queries=[questions[0]])  # loads the store's vectors into the cache
    cold = time.perf_counter() - t0
    result = {"chunks": n_chunks, "fill_seconds": round(fill_s, 1), "first_search_ms": round(cold * 1000, 1)}
    embedder = current_embedder()
    embed_times = []
    for q in questions:
        t0 = time.perf_counter()
        embedder.embed([q])
        embed_times.append(time.perf_counter() - t0)
    result["query_embedding"] = _ms(embed_times)
    for label, kwargs in [("hybrid", {}), ("vector_only", {"ranker": "none"}),
                          ("hybrid_with_filter", {"filters": {"type": "eq", "key": "group", "value": 1}})]:
        times = []
        for q in questions:
            t0 = time.perf_counter()
            search_stores([store], queries=[q], **kwargs)
            times.append(time.perf_counter() - t0)
        result[label] = _ms(times)
    keyword_times = []
    for q in questions:
        t0 = time.perf_counter()
        keyword_search(store_id=store.pk, query=q, limit=100)
        keyword_times.append(time.perf_counter() - t0)
    result["keyword_query_only"] = _ms(keyword_times)
    # What the run engine's file_search call costs (search + formatting the sources).
    from retrieval.tool import run_file_search

    tool_times = []
    for q in questions[:50]:
        t0 = time.perf_counter()
        run_file_search(user=store.owner, vector_store_ids=[store.pk], arguments=json.dumps({"query": q}))
        tool_times.append(time.perf_counter() - t0)
    result["file_search_tool_call"] = _ms(tool_times)
    store.delete()
    return result


def quality(*, n_passages: int) -> dict:
    """recall@5 and MRR@10 of vector-only, keyword-only and hybrid on the generated eval set."""
    passages, questions = build(n_passages)
    embedder = current_embedder()
    store = VectorStore.objects.create(owner=_user("bench-quality"), name="quality", embedding_model=embedder.name)
    files = VectorStoreFile.objects.bulk_create([
        VectorStoreFile(vector_store=store, file_id=f"file-q{p['id']}", filename=p["title"], status="completed")
        for p in passages])
    t0 = time.perf_counter()
    vectors = embedder.embed([p["text"] for p in passages])
    embed_s = time.perf_counter() - t0
    store.embedding_dimension = vectors.shape[1]
    store.save()
    Chunk.objects.bulk_create([Chunk(vector_store=store, store_file=files[i], seq=0, text=p["text"], tokens=0,
                                     vector=vectors[i].tobytes()) for i, p in enumerate(passages)])
    by_file = {f"file-q{p['id']}": p["id"] for p in passages}
    chunk_to_passage = dict(Chunk.objects.filter(vector_store=store).values_list("pk", "store_file__file_id"))

    def ranks(kind: str, q: dict) -> list[int]:
        if kind == "keyword":
            return [by_file[chunk_to_passage[c]] for c, _ in keyword_search(store_id=store.pk, query=q["query"],
                                                                            limit=10)]
        hits = search_stores([store], queries=[q["query"]], max_num_results=10,
                             ranker="none" if kind == "vector" else "auto")
        return [by_file[h.file_id] for h in hits]

    out = {"passages": len(passages), "questions": len(questions), "embed_seconds": round(embed_s, 1), "modes": {}}
    for kind in ("vector", "keyword", "hybrid"):
        per_kind = {}
        for subset in ("named", "described", "all"):
            qs = [q for q in questions if subset == "all" or q["kind"] == subset]
            recall = mrr = 0.0
            for q in qs:
                got = ranks(kind, q)
                recall += q["answer_id"] in got[:5]
                mrr += 1.0 / (got.index(q["answer_id"]) + 1) if q["answer_id"] in got else 0.0
            per_kind[subset] = {"recall@5": round(recall / len(qs), 3), "mrr@10": round(mrr / len(qs), 3),
                                "n": len(qs)}
        out["modes"][kind] = per_kind
    store.delete()
    return out
