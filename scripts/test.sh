#!/usr/bin/env bash
# The one test command (README.md): installs what the tests need, then runs
# formatting, lints, docs and every test. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use as reference peers and tools.
PACKAGES=(bgpdump stayrtr gobgpd procps bird2 frr exabgp postgresql exim4-daemon-light wrk
  chromium chromium-driver fonts-ipafont-gothic)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "== installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "== missing Debian packages (run as root to install): ${missing[*]}" >&2
    exit 1
  fi
fi

# The shared test data lives beside the repository (never inside it).
export BUGYO_TESTDATA="${BUGYO_TESTDATA:-$(cd .. && pwd)/shared/data}"
if [ ! -d "$BUGYO_TESTDATA" ]; then
  echo "== test data not found at $BUGYO_TESTDATA (set BUGYO_TESTDATA)" >&2
  exit 1
fi

export CARGO_TERM_COLOR=never
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy -j2 --workspace --all-targets -- -D warnings
echo "== cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc -j2 --workspace --no-deps --quiet
echo "== cargo test (optimised build: the data-driven tests replay real archives)"
mkdir -p target
cargo test -j2 --workspace --profile test-release 2>&1 | tee target/test.log
# One closing line for CI, counted over every test binary.
awk '/^test result:/ {p+=$4; f+=$6; i+=$8} END {printf "%d passed, %d failed, %d skipped\n", p, f, i}' target/test.log
