#!/usr/bin/env bash
# Runs every native fuzz target in the module for the given time each
# (default 20s): `make fuzz FUZZTIME=5m` for a longer soak. A failing target
# does not stop the soak; the failures are listed at the end (their inputs
# are in the package's testdata/fuzz) and the exit status is 1.
set -uo pipefail
cd "$(dirname "$0")/.."
t="${1:-20s}"
failed=()
while read -r f; do
  pkg="./$(dirname "${f#./}")"
  for fn in $(grep -oE '^func Fuzz[A-Za-z0-9_]+' "$f" | awk '{print $2}'); do
    echo "== $pkg $fn ($t)"
    go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" "$pkg" || failed+=("$pkg $fn")
  done
done < <(grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(' .)
if [ ${#failed[@]} -gt 0 ]; then
  printf 'failed: %s\n' "${failed[@]}"
  exit 1
fi
