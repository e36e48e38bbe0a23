#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what is missing, then lint and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PASTIS_PYTHON="$PWD/.venv/bin/python"
cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --all-targets --quiet 2>&1
