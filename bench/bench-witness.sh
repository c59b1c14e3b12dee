# The witness benchmark of issue 5, against a local nats-server started for
# the run: 'ifctl witness bench' (verify of an exported ledger of 1,000,000
# entries, wall clock, split into read+parse and hashes+chain+tree+signatures;
# 10,000 inclusion proofs on that tree, nearest-rank percentiles; 20,000
# appends from 1 writer and from 8 writer threads with their own connections,
# into a stream of its own). BENCH_ARGS overrides, e.g. BENCH_ARGS=--quick.
set -u
BUILD=${BUILD:-build}
IFCTL=$BUILD/ifctl
tmp=$(mktemp -d /tmp/ifctl-bench-XXXXXX)
export IF_HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/config" TMPDIR="$tmp"
export IF_SERVER_PORT=$("$BUILD/tests/freeport")
trap '"$IFCTL" down -q >/dev/null 2>&1; rm -rf "$tmp"' EXIT
"$IFCTL" up -q >/dev/null || { echo "bench-witness: ifctl up failed" >&2; exit 1; }
# shellcheck disable=SC2086
"$IFCTL" witness bench ${BENCH_ARGS:-} --why
