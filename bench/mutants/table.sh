#!/bin/sh
# The mutation table of docs/verification.md from `make mutants` output:
# one row per module directory OUT/<module>/mutants.out. Missed mutants
# listed in equivalent.txt (beside this script, with the reason why no
# test can tell them apart) count as equivalent, not missed.
# Usage: bench/mutants/table.sh OUT
set -eu
out=${1:?usage: table.sh OUT}
eq="$(dirname "$0")/equivalent.txt"
count() { if [ -f "$1" ]; then grep -c . "$1" || true; else echo 0; fi; }
echo "| module | mutants | caught | missed | timed out | unviable | equivalent | caught of non-equivalent |"
echo "|---|---|---|---|---|---|---|---|"
for d in "$out"/*/mutants.out; do
  [ -d "$d" ] || continue
  m=$(basename "$(dirname "$d")")
  # runs resumed with --iterate list what earlier runs caught separately
  caught=$(( $(count "$d/caught.txt") + $(count "$d/previously_caught.txt") ))
  missed=$(count "$d/missed.txt")
  timeout=$(count "$d/timeout.txt"); unviable=$(count "$d/unviable.txt")
  equiv=0
  if [ -f "$d/missed.txt" ] && [ -f "$eq" ]; then
    # names without their line and column, which move with every edit;
    # the name is everything before " # " in equivalent.txt
    names=$(mktemp)
    sed -n 's/ # .*//p' "$eq" > "$names"
    equiv=$(sed 's/:[0-9]*:[0-9]*: /: /' "$d/missed.txt" | grep -cxFf "$names" || true)
    rm -f "$names"
  fi
  live=$((caught + missed + timeout - equiv))
  # a timeout is a hang the tests detected: counted as caught
  score=$(awk -v c=$((caught + timeout)) -v l=$live 'BEGIN { if (l) printf "%.1f %%", 100 * c / l; else print "-" }')
  echo "| $m | $((caught + missed + timeout + unviable)) | $caught | $((missed - equiv)) | $timeout | $unviable | $equiv | $score |"
done
