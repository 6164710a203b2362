#!/usr/bin/env bash
# Builds the ~20 MB benchmark corpus from Debian packages (downloaded with apt-get
# download and unpacked with dpkg-deb -x, never installed): the Python 3.11 reST docs,
# the Jargon File, the fortune databases and the Perl pod documentation. Output in $CORPUS_DIR (default
# /tmp/anneal-bench): corpus.txt (20 MB, cut at a paragraph boundary), docs.jsonl (~3 KB
# documents of whole paragraphs), neardup.jsonl + neardup-truth.json (100,000 docs of 30–60
# words with 5,000 planted near duplicates). About 20 s.
set -euo pipefail
out="${CORPUS_DIR:-/tmp/anneal-bench}"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out/debs"
if [ ! -s "$out/corpus.txt" ]; then
    (cd "$out/debs" && apt-get download python3.11-doc jargon-text fortunes fortunes-min perl-doc >/dev/null 2>&1 \
        || { apt-get update -qq && apt-get download python3.11-doc jargon-text fortunes fortunes-min perl-doc; })
    for deb in "$out"/debs/*.deb; do dpkg-deb -x "$deb" "$out/debs/x"; done
fi
python3 "$here/make_corpus.py" "$out/debs/x" "$out"
ls -la "$out"
