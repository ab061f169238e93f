#!/usr/bin/env bash
# The replay benchmark of issue 2: the same RIB and update files through
# `bugyo replay` (parse + every verdict + detection) and `bgpdump -m` (parse
# and print), in one run, on one core; prints both rates, the ratio and
# bugyo's memory per stored route. The RIB is ~1M routes across 3 full peers,
# built from the real RIS rrc06 table (see `bugyo bench --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
D="${BUGYO_TESTDATA:-$(cd .. && pwd)/shared/data}"
command -v bgpdump >/dev/null || { echo "bgpdump is needed (apt-get install bgpdump)" >&2; exit 1; }
cargo build --release -j2 -q
exec taskset -c 0 ./target/release/bugyo bench \
  --rib-from-text "$D/bgpdump/test_expect_bview.20100701.0759.gz.bgp.gz" \
  --as-rel "$D/caida-asrel/20161101.as-rel.txt.bz2" \
  "$D/bgpdump/test_data_updates.et-header.2015.gz" \
  "$D/bgpdump/test_data_updates.20160811.1600.gz" \
  "$D/bgpdump/test_data_updates.20070211.0141.gz" \
  "$D/bgpkit/tests_fixtures_ripe_rrc15_2010.02_updates.20100227.1600.gz"
