"""Turning a file's bytes into plain text, by its extension (and a sniff of its content).

Text, Markdown, code, JSON, CSV and HTML (text only) are decoded here; PDF goes through
pypdf and DOCX through python-docx. Anything else raises ``UnsupportedFile``; a file of a
supported kind that cannot be read raises ``InvalidFile``. These map to the vector store
file's ``last_error.code`` (`unsupported_file` / `invalid_file`).
"""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser
from pathlib import PurePath


class ParseError(Exception):
    """Base: ``code`` is the vector store file's last_error code."""

    code = "invalid_file"


class UnsupportedFile(ParseError):
    code = "unsupported_file"


class InvalidFile(ParseError):
    code = "invalid_file"


TEXT_EXTENSIONS = {
    ".txt", ".text", ".md", ".markdown", ".rst", ".log", ".tex", ".org", ".adoc",
    # code
    ".py", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".java", ".kt", ".scala", ".go", ".rs", ".c", ".h",
    ".cc", ".cpp", ".hpp", ".cs", ".rb", ".php", ".pl", ".swift", ".m", ".sh", ".bash", ".zsh", ".ps1",
    ".sql", ".r", ".lua", ".dart", ".ex", ".exs", ".erl", ".hs", ".clj", ".vue", ".svelte", ".css", ".scss",
    ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".xml", ".jsonl", ".ndjson", ".tsv",
}
HTML_EXTENSIONS = {".html", ".htm", ".xhtml"}
SUPPORTED_EXTENSIONS = TEXT_EXTENSIONS | HTML_EXTENSIONS | {".json", ".csv", ".pdf", ".docx"}


def parse(data: bytes, filename: str) -> str:
    """The text of a file. Raises ``UnsupportedFile`` or ``InvalidFile``."""
    ext = PurePath(filename or "").suffix.lower()
    if ext == ".pdf":
        return _pdf(data)
    if ext == ".docx":
        return _docx(data)
    if ext in HTML_EXTENSIONS:
        return html_text(_decode(data))
    if ext == ".json":
        return _json(_decode(data))
    if ext == ".csv":
        return _csv(_decode(data))
    if ext in TEXT_EXTENSIONS:
        return _decode(data)
    raise UnsupportedFile(
        f"Files of type {ext or '(no extension)'!r} are not supported for retrieval. Supported: "
        + ", ".join(sorted(SUPPORTED_EXTENSIONS)) + ".")


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise InvalidFile("The file looks binary (it contains NUL bytes), not text.")
    for encoding in ("utf-8-sig", "utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    # Legacy 8-bit text still carries its words; latin-1 never fails.
    return data.decode("latin-1")


def _json(text: str) -> str:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidFile(f"The JSON file could not be parsed: {exc}.") from exc
    # Indented, so that keys and values stay next to each other in chunks.
    return json.dumps(value, indent=1, ensure_ascii=False)


def _csv(text: str) -> str:
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise InvalidFile(f"The CSV file could not be parsed: {exc}.") from exc
    if not rows:
        return ""
    header, body = rows[0], rows[1:]
    # Each row as "column: value" pairs, so a chunk cut away from the header keeps its meaning.
    lines = [", ".join(header)]
    for row in body:
        lines.append("; ".join(f"{h}: {v}" for h, v in zip(header, row)) if len(row) == len(header)
                     else ", ".join(row))
    return "\n".join(lines)


class _TextOnly(HTMLParser):
    SKIP = {"script", "style", "noscript", "template", "svg", "head"}
    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
             "pre", "blockquote", "table", "ul", "ol", "header", "footer", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_text(html: str) -> str:
    """The visible text of an HTML document (no scripts, styles or markup)."""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise InvalidFile("The PDF is encrypted.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except InvalidFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise InvalidFile(f"The PDF could not be read: {exc}.") from exc
    return "\n\n".join(p.strip() for p in pages if p.strip())


def _docx(data: bytes) -> str:
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InvalidFile(f"The DOCX file could not be read: {exc}.") from exc
    parts = [p.text for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text.strip() for cell in row.cells))
    return "\n".join(parts)
