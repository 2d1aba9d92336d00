#!/usr/bin/env bash
# Reproduce static/vendor/ from the npm registry: the chat UI's browser libraries, pinned.
#
# The committed files are what the app serves; nothing runs npm at install time. Run this
# only to check the copies or to move to new versions (then update docs/ui.md too):
#
#   scripts/vendor_static.sh            # fetch the pinned versions, copy them into static/vendor/
#   scripts/vendor_static.sh --check    # fetch them and fail if static/vendor/ differs
set -euo pipefail

MARKED_VERSION=18.2.1
DOMPURIFY_VERSION=3.5.0
HIGHLIGHTJS_VERSION=11.12.0  # the @highlightjs/cdn-assets build (prebuilt ES module + themes)
KATEX_VERSION=0.19.1          # only the ES module: the page asks for MathML, which needs no CSS or fonts
AXE_CORE_VERSION=4.14.1       # the browser tests' accessibility checker (testsupport/vendor/, never served)

root="$(cd "$(dirname "$0")/.." && pwd)"
target="$root/static/vendor"
mode="${1:-copy}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

unpack() {  # unpack <npm spec> <folder name>: `npm pack` verifies the registry's integrity hash
    (cd "$work" && npm pack --silent "$1" >/dev/null)
    mkdir -p "$work/$2"
    tar -xzf "$work"/*.tgz -C "$work/$2" --strip-components=1
    rm -f "$work"/*.tgz
}

unpack "marked@$MARKED_VERSION" marked
unpack "dompurify@$DOMPURIFY_VERSION" dompurify
unpack "@highlightjs/cdn-assets@$HIGHLIGHTJS_VERSION" highlightjs
unpack "katex@$KATEX_VERSION" katex
unpack "axe-core@$AXE_CORE_VERSION" axe-core

out="$work/out"
mkdir -p "$out/marked" "$out/dompurify" "$out/highlightjs" "$out/katex"
cp "$work/marked/lib/marked.esm.js" "$work/marked/lib/marked.esm.js.map" "$work/marked/LICENSE" "$out/marked/"
cp "$work/dompurify/dist/purify.es.mjs" "$work/dompurify/dist/purify.es.mjs.map" \
   "$work/dompurify/LICENSE" "$work/dompurify/LICENSE-MPL" "$out/dompurify/"
cp "$work/highlightjs/es/highlight.min.js" "$work/highlightjs/LICENSE" "$out/highlightjs/"
cp "$work/highlightjs/styles/github.min.css" "$out/highlightjs/github.min.css"
cp "$work/highlightjs/styles/github-dark.min.css" "$out/highlightjs/github-dark.min.css"
cp "$work/katex/dist/katex.mjs" "$work/katex/LICENSE" "$out/katex/"
for lib in marked dompurify highlightjs katex; do
    version_var="$(echo "$lib" | tr '[:lower:]' '[:upper:]')_VERSION"
    echo "${!version_var}" > "$out/$lib/VERSION"
done

test_target="$root/testsupport/vendor/axe-core"
test_out="$work/test-out"
mkdir -p "$test_out"
cp "$work/axe-core/axe.min.js" "$work/axe-core/LICENSE" "$work/axe-core/LICENSE-3RD-PARTY.txt" "$test_out/"
echo "$AXE_CORE_VERSION" > "$test_out/VERSION"

if [ "$mode" = "--check" ]; then
    diff -r "$out" "$target" && diff -r "$test_out" "$test_target" \
        && echo "static/vendor and testsupport/vendor match the pinned npm packages."
    exit $?
fi
rm -rf "$target" "$test_target"
mkdir -p "$target" "$test_target"
cp -r "$out"/. "$target"/
cp -r "$test_out"/. "$test_target"/
echo "Copied marked $MARKED_VERSION, DOMPurify $DOMPURIFY_VERSION, highlight.js $HIGHLIGHTJS_VERSION, KaTeX $KATEX_VERSION into static/vendor/, axe-core $AXE_CORE_VERSION into testsupport/vendor/."
