#!/usr/bin/env bash
# The whole suite. Installs browser tooling first when a browser test is present.
set -euo pipefail
cd "$(dirname "$0")/.."
UV="${UV:-$(command -v uv || echo "python3 -m uv")}"
if [ -x scripts/install-browser.sh ] && [ -n "$(ls tests/e2e/test_*.py 2>/dev/null)" ]; then
  bash scripts/install-browser.sh
fi
set +e
$UV run pytest -q -ra
rc=$?
set -e
exit $rc
