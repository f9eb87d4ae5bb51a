#!/usr/bin/env bash
# Run the command-line comparisons of docs/compare-examples.md; call from the repository root.
set -euo pipefail
D=../shared/data/onestopenglish
mkdir -p /tmp/pairs
cp "$D/Adv-Txt/Amazon-adv.txt" /tmp/pairs/amazon-adv.txt
cp "$D/Int-Txt/Amazon-int.txt" /tmp/pairs/amazon-int.txt
(cat "$D/Adv-Txt/WNL David Bowie-adv.txt"; echo; cat "$D/Adv-Txt/WNL Ways Facebook changed-adv.txt") > /tmp/pairs/two-adv.txt
(cat "$D/Int-Txt/WNL David Bowie-int.txt"; echo; cat "$D/Int-Txt/WNL Ways Facebook changed-int.txt") > /tmp/pairs/two-int.txt
for pair in amazon two; do
  for mode in default check; do
    extra=""; [ $mode = check ] && extra="--recompute-all --no-retention"
    echo "=== $pair $mode"
    .venv/bin/python -m semshare_core compare --reference /tmp/pairs/$pair-adv.txt --target /tmp/pairs/$pair-int.txt \
      --repeats 3 --json /tmp/pairs/$pair-$mode.json $extra 2>&1 | grep -v -E "Warn|Loading"
  done
done
