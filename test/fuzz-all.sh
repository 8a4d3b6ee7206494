#!/usr/bin/env bash
# Runs every native fuzz target in the module for the given time each
# (default 20s): `make fuzz FUZZTIME=5m` for a longer soak.
set -euo pipefail
cd "$(dirname "$0")/.."
t="${1:-20s}"
grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(' . | while read -r f; do
  pkg="./$(dirname "${f#./}")"
  for fn in $(grep -oE '^func Fuzz[A-Za-z0-9_]+' "$f" | awk '{print $2}'); do
    echo "== $pkg $fn ($t)"
    go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" "$pkg"
  done
done
