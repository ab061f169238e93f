#!/usr/bin/env bash
# The leak-burst benchmark: a release `bugyo serve` with a real exabgp peer
# (AS2497, IIJ's real routes of Japanese networks from the RIS rrc06 table
# as its normal table), then 200,000 more-specifics leaked by AS15169 to
# AS701 sent as fast as exabgp can. Prints the per-route detection delay
# p50/p99 (bugyo_detection_delay_seconds at /metrics, interpolated within
# its buckets), the time from the first to the last leaked route, exabgp's
# send rate and bugyo's judged rate side by side, and how soon the incident
# reported its full size. The test is `leak_burst_benchmark` in
# crates/bugyo/tests/serve_exabgp.rs (ignored in the normal test run).
set -euo pipefail
cd "$(dirname "$0")/.."
export BUGYO_TESTDATA="${BUGYO_TESTDATA:-$(cd .. && pwd)/shared/data}"
[ -x /usr/sbin/exabgp ] || command -v exabgp >/dev/null || {
  echo "exabgp is needed (apt-get install exabgp)" >&2
  exit 1
}
exec cargo test -j2 -q --profile release -p bugyo --test serve_exabgp -- \
  --ignored --exact leak_burst_benchmark --nocapture
