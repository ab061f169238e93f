#!/usr/bin/env bash
# The API under load, on SQLite and on PostgreSQL (a throwaway server):
# incident versions written per second (alone and while the API is read),
# and wrk's requests per second and latency percentiles (p99 among them)
# for the incident list and for one incident. Needs wrk and postgresql
# (apt-get install wrk postgresql).
set -euo pipefail
cd "$(dirname "$0")/.."
export BUGYO_TESTDATA="${BUGYO_TESTDATA:-$(cd .. && pwd)/shared/data}"
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
exec cargo test -j2 -q --profile release -p bugyo --test api_bench -- \
  --ignored --exact api_load_benchmark --nocapture
