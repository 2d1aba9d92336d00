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

out="$work/out"
mkdir -p "$out/marked" "$out/dompurify" "$out/highlightjs"
cp "$work/marked/lib/marked.esm.js" "$work/marked/lib/marked.esm.js.map" "$work/marked/LICENSE" "$out/marked/"
cp "$work/dompurify/dist/purify.es.mjs" "$work/dompurify/dist/purify.es.mjs.map" \
   "$work/dompurify/LICENSE" "$work/dompurify/LICENSE-MPL" "$out/dompurify/"
cp "$work/highlightjs/es/highlight.min.js" "$work/highlightjs/LICENSE" "$out/highlightjs/"
cp "$work/highlightjs/styles/github.min.css" "$out/highlightjs/github.min.css"
cp "$work/highlightjs/styles/github-dark.min.css" "$out/highlightjs/github-dark.min.css"
for lib in marked dompurify highlightjs; do
    version_var="$(echo "$lib" | tr '[:lower:]' '[:upper:]')_VERSION"
    echo "${!version_var}" > "$out/$lib/VERSION"
done

if [ "$mode" = "--check" ]; then
    diff -r "$out" "$target" && echo "static/vendor matches the pinned npm packages."
    exit $?
fi
rm -rf "$target"
mkdir -p "$target"
cp -r "$out"/. "$target"/
echo "Copied marked $MARKED_VERSION, DOMPurify $DOMPURIFY_VERSION, highlight.js $HIGHLIGHTJS_VERSION into static/vendor/."
