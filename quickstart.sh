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
# The packaged sample never mixes with your own papers: it goes only into an empty store, and your
# first `digestqa ingest` of real digests removes it (and says so).
if [ -d ../shared/digests ]; then
  .venv/bin/digestqa ingest ../shared/digests
elif [ -e vectorstore/chroma.sqlite3 ] && [ "$(.venv/bin/digestqa stats --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["papers"])')" != 0 ]; then
  echo "vectorstore/ already holds papers: the packaged sample is not added to them"
else
  .venv/bin/digestqa ingest assistant/sample_digests
  echo "(the packaged sample: 12 papers in our own words; \`digestqa ingest YOUR_DIGESTS\` replaces it)"
fi
.venv/bin/digestqa ask "Which papers reduce L2 cache misses in attention kernels?"
echo
echo "Next: .venv/bin/digestqa chat   (terminal chat)   or   .venv/bin/digestqa ui   (browser)"
