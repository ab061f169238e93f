#!/usr/bin/env bash
# The full-table ingestion benchmark: a source gobgpd on loopback holds
# 1,000,000 IPv4 + 200,000 IPv6 routes (real AS paths from the RIS rrc06
# table, more-specifics carved from its prefixes) and sends them over one BGP
# session, first to a second gobgpd (the reference router), then to
# `bugyo serve`; prints seconds from Established to every route in, routes/s,
# peak memory growth and bytes per route for both, and the speed ratio.
# Extra arguments go to `bugyo bench ingest` (e.g. --runs 3); see --help.
set -euo pipefail
cd "$(dirname "$0")/.."
D="${BUGYO_TESTDATA:-$(cd .. && pwd)/shared/data}"
for p in gobgpd gobgp; do
  command -v "$p" >/dev/null || { echo "$p is needed (apt-get install gobgpd)" >&2; exit 1; }
done
cargo build --release -j2 -q
T="${CARGO_TARGET_DIR:-target}"
exec "$T/release/bugyo" bench ingest \
  --paths-from "$D/bgpdump/test_expect_bview.20100701.0759.gz.bgp.gz" \
  --work-dir "$T/bench-ingest" \
  "$@"
