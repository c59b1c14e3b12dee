# The chassis: start-up overhead of an empty sandboxed run (target under
# 20 ms for a native program) and what wasm-interp adds; the cost of a
# credential decision in-process and of 'ifctl cred check' as a command;
# the egress proxy's throughput.
#
# Method. Sandbox and decision figures come from build/tests/chassisbench
# (RUNS samples after 3 warm-ups, microseconds on the monotonic clock around
# sandbox_run(): bwrap, namespaces, seccomp, rlimits, the monitor, exec,
# reaping; min, median, p90 by nearest rank). 'cred check' is the whole
# command (process start, config, connect, one KV get, one witness entry),
# 20 runs timed with date +%s%N. Proxy throughput: the fetch fixture sends N
# requests one after another (a new connection each, a witnessed cred check
# each, a 1 KiB body from a local node HTTP server), then 4 fetchers at once;
# requests per second = requests / wall time.
set -u
BUILD=${BUILD:-build}
IFCTL=$BUILD/ifctl
FIX=$BUILD/fixtures/chassis
RUNS=${RUNS:-50}
tmp=$(mktemp -d /tmp/ifctl-bench-XXXXXX)
export IF_HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/config"
export IF_SERVER_PORT=$("$BUILD/tests/freeport")
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; "$IFCTL" down -q >/dev/null 2>&1; rm -rf "$tmp"' EXIT

"$BUILD/tests/chassisbench" "$RUNS" /usr/bin/true "$FIX/empty.wasm" || exit 1

"$IFCTL" up -q >/dev/null || { echo "bench-chassis: ifctl up failed" >&2; exit 1; }
HP=$("$BUILD/tests/freeport")
mkdir -p "$tmp/www/ok"
head -c 1024 /dev/zero | tr '\0' x >"$tmp/www/ok/1k"
(cd "$tmp/www" && exec node -e "require('http').createServer((q, r) => {
	require('fs').readFile('.' + q.url, (e, d) => { r.writeHead(e ? 404 : 200); r.end(e ? 'nf' : d); });
}).listen($HP, '127.0.0.1')") &
pids="$pids $!"
tok=$("$IFCTL" cred issue --swarm bench --ttl 1h --allow "http://127.0.0.1:$HP/ok" -o json 2>/dev/null |
	sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$tok" ] || { echo "bench-chassis: cred issue failed" >&2; exit 1; }

: >"$tmp/times"
i=0
while [ $i -lt 20 ]; do
	t0=$(date +%s%N)
	"$IFCTL" cred check "$tok" "http://127.0.0.1:$HP/ok/1k" >/dev/null 2>&1 || exit 1
	echo $(( ($(date +%s%N) - t0) / 1000 )) >>"$tmp/times"
	i=$((i + 1))
done
sort -n "$tmp/times" | awk '{ v[NR] = $1 } END { printf "%-34s n=%d  min %.2f ms  median %.2f ms  p90 %.2f ms\n",
	"ifctl cred check (command)", NR, v[1] / 1000, (v[NR/2] + v[NR/2 + 1]) / 2000, v[int(NR * 0.9)] / 1000 }'

sock="$tmp/egress.sock"
"$IFCTL" chassis proxy --socket "$sock" >/dev/null 2>&1 &
pids="$pids $!"
i=0; until [ -S "$sock" ] || [ $i -gt 500 ]; do i=$((i + 1)); sleep 0.01; done
N=500
t0=$(date +%s%N)
IF_EGRESS_SOCKET=$sock IF_CRED_TOKEN=$tok "$FIX/fetch" -n $N "http://127.0.0.1:$HP/ok/1k" >"$tmp/f1" || {
	echo "bench-chassis: fetch failed: $(cat "$tmp/f1")" >&2; exit 1; }
t1=$(date +%s%N)
awk -v n=$N -v ns=$((t1 - t0)) 'BEGIN { printf "%-34s n=%d  %.0f requests/s  %.2f ms each\n",
	"egress proxy, 1 client", n, n / (ns / 1e9), ns / 1e6 / n }'
t0=$(date +%s%N)
fetchers=""
for c in 1 2 3 4; do
	IF_EGRESS_SOCKET=$sock IF_CRED_TOKEN=$tok "$FIX/fetch" -n $N "http://127.0.0.1:$HP/ok/1k" >"$tmp/f$c" &
	fetchers="$fetchers $!"
done
wait $fetchers
t1=$(date +%s%N)
grep -h fetched "$tmp"/f[1-4] | grep -qv "fetched $N/$N" && { echo "bench-chassis: a fetch failed" >&2; exit 1; }
awk -v n=$((N * 4)) -v ns=$((t1 - t0)) 'BEGIN { printf "%-34s n=%d  %.0f requests/s\n",
	"egress proxy, 4 clients", n, n / (ns / 1e9) }'
