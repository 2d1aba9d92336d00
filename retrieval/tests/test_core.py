"""The pure core: parsing, chunking, the local embedder, filters and fusion (no database)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from retrieval.chunking import chunk_text, strategy_sizes
from retrieval.embedding.local import WINDOW_TOKENS, LocalMiniLM
from retrieval.filters import matches, validate_filter
from retrieval.parsing import InvalidFile, UnsupportedFile, parse
from retrieval.search.fusion import reciprocal_rank_fusion
from retrieval.tokenizer import TOKENIZER_SHA256, count_tokens, tokenizer_path
from kernel.errors import InvalidRequest


def make_pdf(text: str) -> bytes:
    """A one-page PDF with ``text`` (built by hand: pypdf reads, it does not typeset)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def make_docx(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "colour"
    table.rows[0].cells[1].text = "teal"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


class TestParsing:
    def test_text_markdown_and_code_decode(self):
        assert parse("# Title\nbody é".encode(), "notes.md") == "# Title\nbody é"
        assert parse(b"def f():\n    return 1\n", "m.py").startswith("def f()")
        assert parse("\ufeffbom".encode("utf-8"), "a.txt") == "bom"

    def test_json_csv_html(self):
        assert '"answer": 42' in parse(b'{"answer": 42}', "a.json")
        csv_text = parse(b"name,city\nAda,London\n", "people.csv")
        assert "name: Ada; city: London" in csv_text
        html = parse(b"<html><head><title>t</title><script>var x=1</script></head>"
                     b"<body><p>Hello <b>world</b></p><style>p{}</style></body></html>", "page.html")
        assert html == "Hello world"

    def test_pdf_and_docx(self):
        assert "Zebras graze at dawn" in parse(make_pdf("Zebras graze at dawn"), "report.pdf")
        text = parse(make_docx(["First paragraph.", "Second one."]), "memo.docx")
        assert "First paragraph." in text and "colour | teal" in text

    def test_unsupported_and_invalid(self):
        with pytest.raises(UnsupportedFile) as exc:
            parse(b"\x89PNG....", "image.png")
        assert exc.value.code == "unsupported_file"
        with pytest.raises(InvalidFile):
            parse(b"{not json", "a.json")
        with pytest.raises(InvalidFile):
            parse(b"not a pdf", "a.pdf")
        with pytest.raises(InvalidFile):
            parse(b"not a zip", "a.docx")
        with pytest.raises(InvalidFile):
            parse(b"text\x00with nul", "a.txt")


class TestChunking:
    TEXT = " ".join(f"Sentence number {i} talks about topic{i % 7} and ideas." for i in range(400))

    def test_tokenizer_is_the_pinned_file(self):
        import hashlib

        assert hashlib.sha256(tokenizer_path().read_bytes()).hexdigest() == TOKENIZER_SHA256
        assert count_tokens("hello world") == 2

    def test_auto_sizes_and_overlap(self):
        chunks = chunk_text(self.TEXT)
        assert strategy_sizes(None) == (800, 400) == strategy_sizes({"type": "auto"})
        assert len(chunks) > 3
        assert all(c.tokens <= 800 for c in chunks)
        assert all(c.tokens >= 790 for c in chunks[:-1])  # full windows but for word boundaries
        # Each chunk is an exact slice of the text, and consecutive chunks overlap by about half.
        for a, b in zip(chunks, chunks[1:]):
            assert self.TEXT[a.start:a.end] == a.text
            assert b.start < a.end and b.start > a.start
            assert 350 <= count_tokens(self.TEXT[b.start:a.end]) <= 410

    def test_static_strategy(self):
        sizes = strategy_sizes({"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}})
        chunks = chunk_text(self.TEXT, max_tokens=sizes[0], overlap=sizes[1])
        assert all(c.tokens <= 100 for c in chunks)
        assert sum(count_tokens(c.text) for c in chunks) == count_tokens(self.TEXT)

    def test_empty_text_has_no_chunks(self):
        assert chunk_text("   \n ") == []


@pytest.fixture(scope="module")
def minilm():
    return LocalMiniLM(threads=1)


class TestLocalEmbedder:
    def test_unit_vectors_and_meaning(self, minilm):
        v = minilm.embed(["The cat sat on the mat.", "A kitten rested on a rug.", "Quarterly revenue grew 4%."])
        assert v.shape == (3, 384) and v.dtype == np.float32
        assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
        assert v[0] @ v[1] > v[0] @ v[2] + 0.2

    def test_batching_does_not_change_vectors(self, minilm):
        texts = ["short", "a somewhat longer sentence about embeddings", "x " * 50]
        together = minilm.embed(texts)
        alone = np.stack([minilm.embed([t])[0] for t in texts])
        assert np.allclose(together, alone, atol=1e-4)

    def test_long_text_is_windowed_not_truncated(self, minilm):
        head = "Photosynthesis turns light into chemical energy in plants. " * 40
        tail = "The stock exchange closed higher on strong bank earnings. " * 40
        assert len(minilm.windows(head + tail)) >= 2
        assert all(len(w) <= WINDOW_TOKENS + 2 for w in minilm.windows(head + tail))
        both, only_head = minilm.embed([head + tail, head])
        finance = minilm.embed(["bank earnings on the stock exchange"])[0]
        # Truncating at 256 tokens would have dropped the tail; the pooled vector keeps it.
        assert both @ finance > only_head @ finance + 0.1


class TestFilters:
    ATTRS = {"author": "ada", "year": 2021, "draft": False}

    @pytest.mark.parametrize("flt,expected", [
        ({"type": "eq", "key": "author", "value": "ada"}, True),
        ({"type": "ne", "key": "author", "value": "ada"}, False),
        ({"type": "gt", "key": "year", "value": 2020}, True),
        ({"type": "gte", "key": "year", "value": 2021}, True),
        ({"type": "lt", "key": "year", "value": 2021}, False),
        ({"type": "lte", "key": "year", "value": 2021}, True),
        ({"type": "eq", "key": "draft", "value": False}, True),
        ({"type": "eq", "key": "draft", "value": 0}, False),
        ({"type": "gt", "key": "author", "value": 3}, False),
        ({"type": "eq", "key": "missing", "value": "x"}, False),
        ({"type": "in", "key": "author", "value": ["bob", "ada"]}, True),
        ({"type": "and", "filters": [{"type": "eq", "key": "author", "value": "ada"},
                                     {"type": "lt", "key": "year", "value": 2000}]}, False),
        ({"type": "or", "filters": [{"type": "eq", "key": "author", "value": "bob"},
                                    {"type": "gte", "key": "year", "value": 2000}]}, True),
    ])
    def test_matches(self, flt, expected):
        assert matches(validate_filter(flt), self.ATTRS) is expected

    @pytest.mark.parametrize("bad", [[], {"type": "xx"}, {"type": "eq", "value": 1},
                                     {"type": "eq", "key": "a", "value": {"x": 1}}, {"type": "and", "filters": []}])
    def test_invalid_filters_are_400(self, bad):
        with pytest.raises(InvalidRequest):
            validate_filter(bad)


def test_rrf_scores_in_unit_range_and_order():
    fused = reciprocal_rank_fusion([[1, 2, 3], [2, 1, 4]])
    assert [item for item, _ in fused][:2] in ([1, 2], [2, 1])
    assert all(0 < s <= 1 for _, s in fused)
    assert reciprocal_rank_fusion([[7], [7]]) == [(7, 1.0)]
    # First in one list of two: half of the best attainable score.
    assert dict(reciprocal_rank_fusion([[1, 2], [3]]))[3] == pytest.approx(0.5)
    assert reciprocal_rank_fusion([[], []]) == []
    # Weighted: a list of weight 0 adds nothing; the best attainable score is still 1.0.
    assert reciprocal_rank_fusion([[1, 2], [2, 1]], weights=[1.0, 0.0]) == [(1, 1.0), (2, pytest.approx(61 / 62))]
