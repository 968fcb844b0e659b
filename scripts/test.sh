#!/usr/bin/env bash
# Run the test suite (installs first if needed). Pytest's exit 5 ("no tests collected") is a failure here.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh || exit 1
.venv/bin/python -m pytest -q --durations=10 "$@"  # the ten slowest tests are listed: the suite must stay within budget
status=$?
if [ "$status" -eq 5 ]; then
  echo "no tests were collected: failing" >&2
  exit 1
fi
exit "$status"
