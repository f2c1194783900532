#!/usr/bin/env bash
# Install digestqa into .venv, ingest the digests and answer a first question.
#   ./quickstart.sh                 install, ingest, ask
#   ./quickstart.sh --install-only  install only (what CI does before running the tests)
set -euo pipefail
cd "$(dirname "$0")"

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# torch is pinned to 2.13.0 (CPU build) in pyproject.toml: see README "Installing elsewhere".
.venv/bin/python -m pip install --quiet -e ".[test]"
[ "${1:-}" = "--install-only" ] && exit 0

# The real sample digests when this clone sits next to them, else the sample shipped in the package.
if [ -d ../shared/digests ]; then digests=../shared/digests; else digests=assistant/sample_digests; fi
.venv/bin/digestqa ingest "$digests"
.venv/bin/digestqa ask "Which papers reduce L2 cache misses in attention kernels?"
echo
echo "Next: .venv/bin/digestqa chat   (terminal chat)   or   .venv/bin/digestqa ui   (browser)"
