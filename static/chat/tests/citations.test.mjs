// Citations and file_search calls: the annotations and steps the server sends, as the page reads them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { hideMarkers, markCitations, sourcesOf } from "../citations.js";
import { applyCallDeltas, mediaOf, normaliseCall } from "../items.js";

const cite = (text, start, end, fileId) => ({ type: "file_citation", text, start_index: start, end_index: end, file_citation: { file_id: fileId } });
const content = (value, annotations) => [{ type: "text", text: { value, annotations } }];

describe("citations", () => {
  it("reads file_citation annotations from a message's text parts", () => {
    const text = "Etna is active 【0†volcanoes.md】.";
    const media = mediaOf(content(text, [cite("【0†volcanoes.md】", 15, 31, "file-v")]));
    assert.deepEqual(media, { images: [], links: [], citations: [{ text: "【0†volcanoes.md】", start: 15, end: 31, fileId: "file-v" }] });
  });

  it("puts a numbered token in place of each marker, one number per file", () => {
    const text = "Etna is active 【0†v.md】. Bread needs yeast [1]. Lava cools 【2†v.md】.";
    const at = (marker) => [text.indexOf(marker), text.indexOf(marker) + marker.length];
    const citations = [["【0†v.md】", "file-v"], ["[1]", "file-b"], ["【2†v.md】", "file-v"]]
      .map(([marker, fileId]) => ({ text: marker, start: at(marker)[0], end: at(marker)[1], fileId }));
    const { text: marked, notes } = markCitations(text, citations);
    assert.equal(marked, "Etna is active\uE0001\uE001. Bread needs yeast\uE0002\uE001. Lava cools\uE0001\uE001.");
    assert.deepEqual(notes, ["file-v", "file-b"]);
  });

  it("puts the number after a sentence the server attributed, counting code points", () => {
    const text = "🌋 Etna erupts often. Fine.";
    const sentence = "🌋 Etna erupts often.";
    const { text: marked } = markCitations(text, [{ text: sentence, start: 0, end: Array.from(sentence).length, fileId: "f" }]);
    assert.equal(marked, "🌋 Etna erupts often.\uE0001\uE001 Fine.");
  });

  it("leaves out citations whose indexes do not fit the text", () => {
    assert.deepEqual(markCitations("short", [{ text: "x", start: 3, end: 99, fileId: "f" }]), { text: "short", notes: [] });
  });

  it("hides markers while the reply streams", () => {
    assert.equal(hideMarkers("Etna 【0†v.md】 is active 【1†"), "Etna is active 【1†");
  });

  it("keeps each file's best result, preferring one with its passage", () => {
    const call = (results) => ({ type: "file_search", file_search: { results } });
    const sources = sourcesOf([
      call([{ file_id: "f1", file_name: "a.md", score: 0.9 }, { file_id: "f2", file_name: "b.md", score: 0.4 }]),
      call([{ file_id: "f1", file_name: "a.md", score: 0.5, content: [{ type: "text", text: "the passage" }] }]),
    ]);
    assert.deepEqual(Object.fromEntries(sources), {
      f1: { fileName: "a.md", passage: "the passage", score: 0.5 },
      f2: { fileName: "b.md", passage: "", score: 0.4 },
    });
  });
});

describe("file_search calls", () => {
  it("are kept with their results, and their deltas fill them in", () => {
    const first = [normaliseCall({ id: "call_1", type: "file_search", file_search: {} })];
    assert.deepEqual(first, [{ id: "call_1", type: "file_search", file_search: { query: null, ranking_options: null, results: null } }]);
    const results = [{ file_id: "f1", file_name: "a.md", score: 0.8 }];
    const done = applyCallDeltas(first, [{ index: 0, type: "file_search", file_search: { ranking_options: { ranker: "auto", score_threshold: 0 }, results } }]);
    assert.deepEqual(done[0].file_search, { query: null, ranking_options: { ranker: "auto", score_threshold: 0 }, results });
    assert.equal(first[0].file_search.results, null); // never changed in place
  });
});
