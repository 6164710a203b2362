#!/bin/sh
# Reads min_length from the parameters file ($ANNEAL_PARAMS), writes counts.txt into its
# output directory and reports the total as a metric on the progress descriptor (3).
set -eu
min=$(sed -n 's/.*"min_length": *\([0-9]*\).*/\1/p' "$ANNEAL_PARAMS")
find "$ANNEAL_INPUT_DOCS" -type f -print0 | sort -z | xargs -0 cat \
  | tr -cs 'A-Za-z' '\n' | awk -v m="${min:-1}" 'length($0) >= m' \
  | sort | uniq -c | sort -k1,1nr -k2 > "$ANNEAL_OUTPUT_COUNTS/counts.txt"
words=$(awk '{s += $1} END {print s + 0}' "$ANNEAL_OUTPUT_COUNTS/counts.txt")
distinct=$(wc -l < "$ANNEAL_OUTPUT_COUNTS/counts.txt")
echo "{\"metrics\": {\"words\": $words, \"distinct\": $distinct}}" >&3
