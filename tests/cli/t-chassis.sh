# ifctl chassis under the real bubblewrap: each fixture stopped or refused
# with the right reason, bad input, no user namespaces (exit 7), runs as
# events and witness entries, tasks run and settled by chassis run --task
# and by a chassis serve worker (succeed, fail, time out), heartbeats.
. "$(dirname "$0")/lib.sh"
FIX=$BUILD/fixtures/chassis
SCHEMACHECK=$BUILD/tests/schemacheck
rec() { sed -n "s/.*\"$1\":\(\"[^\"]*\"\|[-0-9a-z]*\).*/\1/p" "$OUT" | head -1 | tr -d '"'; }
conforms() {
	if "$SCHEMACHECK" "schemas/$1.schema.json" ${2+"$2"} <"$OUT" 2>"$T_DIR/schema.err"; then ok
	else not_ok "$LAST: not $1: $(head -3 "$T_DIR/schema.err")"; fi
}

run 0 up -q

# --- each fixture --------------------------------------------------------
run 0 chassis run "$FIX/print.wasm" -o json
conforms chassis-run
out_has '"kind":"wasm","outcome":"ok"'
out_has 'called host host.print\(i32:42\)'
out_has '"killed_by":"none"'
out_has '"program_sha256":"[0-9a-f]{64}"'

run 0 chassis run --input '{"job":1}' "$FIX/echo" -o json
out_has '"stdout":"\{\\"job\\":1\}echo: done\\n"'
run 1 chassis run "$FIX/echo" -o json -- 3
out_has '"outcome":"failed","reason":"exit 3","exit_code":3'
err_has "failed: exit 3"

run 4 chassis run --cpu 1 --wall 10000 "$FIX/loop.wasm" -o json
out_has '"outcome":"killed","reason":"killed by the CPU-time limit \(1 s\)"'
out_has '"killed_by":"cpu"'
err_is_one_error
err_has '\[sandbox-limit\]'
run 4 chassis run --cpu 1 --wall 10000 "$FIX/spin" -o json
out_has '"killed_by":"cpu"'
check "[ $(rec cpu_ms) -ge 500 ]"

run 4 chassis run --memory 64 "$FIX/alloc.wasm" -o json
out_has '"killed_by":"memory"'
out_has 'stopped by the memory limit \(64 MiB'
run 4 chassis run --memory 64 "$FIX/alloc" -o json
out_has '"killed_by":"memory"'
check "[ $(rec peak_rss_kib) -ge 32768 ]"

run 4 chassis run "$FIX/socket" -o json
out_has '"killed_by":"seccomp"'
out_lacks 'connected out'

echo "top secret" >"$T_DIR/secret"
run 1 chassis run "$FIX/readfile" -o json -- "$T_DIR/secret"
out_lacks 'top secret'
out_has 'No such file or directory'
run 1 chassis run "$FIX/readfile" -o json -- /etc/passwd
out_lacks 'root:'

run 4 chassis run --wall 300 "$FIX/spin" -o json -- sleep
out_has '"killed_by":"wall"'
check "[ $(rec duration_ms) -ge 300 ] && [ $(rec duration_ms) -lt 3000 ]"

run 1 chassis run "$FIX/trap.wasm" -o json
out_has '"outcome":"trap","reason":"trap: unreachable executed"'

# the sandbox has no network and no host files but /usr
run 0 chassis run /usr/bin/sh -o json -- -c 'ls / | tr "\n" " "; ls /home /root /etc 2>&1 | head -1'
out_has '"stdout":"bin dev lib lib64 proc sandbox sbin tmp usr work '
out_has 'No such file'

# --- bad input -----------------------------------------------------------
run 3 chassis run "$T_DIR/missing.wasm"
err_is_one_error
err_has "no module or program '.*missing.wasm'"
printf 'hello' >"$T_DIR/text.wasm"
run 2 chassis run "$T_DIR/text.wasm"
err_has 'neither a WASM module'
printf '\0asm\1\0\0\0\1\377' >"$T_DIR/cut.wasm"
run 2 chassis run "$T_DIR/cut.wasm"
err_is_one_error
err_has 'is not valid WASM'
printf '\0asm\2\0\0\0' >"$T_DIR/v2.wasm"
run 2 chassis run "$T_DIR/v2.wasm"
err_has 'version is not 1'
run 2 chassis run --memory 1 "$FIX/echo"
err_has -- '--memory: 1 is out of range'
run 2 chassis run
err_has 'needs a MODULE or PROGRAM'
run 2 chassis run --task t-x "$FIX/echo"
err_has 'needs --swarm'

# --- no user namespaces: one clear error, exit 7, nothing run -------------
IF_CHASSIS_RUN_AS=-1 bwrap --unshare-user --disable-userns --ro-bind / / --dev /dev --proc /proc \
	--bind /tmp /tmp -- "$IFCTL" chassis run --input ran-unsandboxed "$FIX/echo" >"$OUT" 2>"$ERR"
check "[ $? = 7 ]"
LAST="chassis run without user namespaces"
err_is_one_error
err_has 'cannot create user namespaces'
out_lacks 'ran-unsandboxed'

# --- every run is an event and a witness entry ----------------------------
run 0 witness query --event chassis.run -o json
out_has '"outcome":"killed"'
out_lacks '"stdout"'
n_runs=$(grep -o '"event":"chassis.run"' "$OUT" | wc -l)
check "[ $n_runs -ge 12 ]"

# --- a task run: payload on stdin, completed with the record --------------
run 0 task push t-ok --to w1 --payload '{"n":7}' --max-attempts 1
run 0 task claim --swarm w1 -o json
run 3 chassis run --task t-nope --swarm w1 "$FIX/echo"
run 7 chassis run --task t-ok --swarm w2 "$FIX/echo"
err_has "swarm 'w2' does not hold task 't-ok'"
run 0 chassis run --task t-ok --swarm w1 "$FIX/echo" -o json
out_has '"task":"t-ok"'
run 0 task show t-ok -o json
out_has '"state":"done"'
out_has '"result":\{.*"stdout":"\{\\"n\\":7\}echo: done\\n"'
run 7 chassis run --task t-ok --swarm w1 "$FIX/echo"

# --- a worker drains tasks that succeed, fail and time out ----------------
mkdir -p "$T_DIR/mods"
cp "$FIX/echo" "$FIX/print.wasm" "$FIX/trap.wasm" "$FIX/spin" "$T_DIR/mods/"
for m in echo print.wasm trap.wasm spin missing; do
	run 0 task push "job-${m%.wasm}" --to w3 --max-attempts 1 --payload "{\"module\":\"$m\"}"
done
run 0 chassis serve --swarm w3 --modules "$T_DIR/mods" --drain --wall 500 -o json
conforms chassis-run '[]'
run 0 task list --swarm w3 -o json
out_has '"id":"job-echo","state":"done"'
out_has '"id":"job-print","state":"done"'
out_has '"id":"job-trap","state":"dead".*trap: unreachable executed'
out_has '"id":"job-spin","state":"dead".*killed by the wall-time limit'
out_has '"id":"job-missing","state":"(dead|failed)".*no module or program|"id":"job-missing","state":"(dead|failed)".*cannot open'

# heartbeats hold a lease through a run longer than it: a claim meanwhile finds nothing
run 0 task push t-long --to w4 --max-attempts 2
IF_COORDINATOR_LEASE_MS=300 "$IFCTL" chassis serve --swarm w4 --drain "$FIX/spin" -- nap 1200 \
	>"$T_DIR/serve.out" 2>&1 &
serve_pid=$!
i=0; until grep -q '"state":"claimed"' <("$IFCTL" task show t-long -o json 2>/dev/null) || [ $i -gt 200 ]; do
	i=$((i + 1)); sleep 0.01; done
sleep 0.8
run 3 task claim --swarm w4
wait $serve_pid
check "[ $? = 0 ]"
run 0 task show t-long -o json
out_has '"state":"done"'
out_has '"attempts":1'

# a task cancelled while it runs: the lease is lost, the sandbox stopped
run 0 task push t-cancel --to w5 --max-attempts 1
run 0 task claim --swarm w5
IF_COORDINATOR_LEASE_MS=300 "$IFCTL" chassis run --task t-cancel --swarm w5 --wall 20000 "$FIX/spin" \
	-- sleep >"$T_DIR/cancel.out" 2>&1 &
cancel_pid=$!
sleep 0.3
run 0 task cancel t-cancel
t0=$(date +%s%N)
wait $cancel_pid
rc=$?
check "[ $rc = 7 ] && [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 5000 ]"
run 0 witness query --event chassis.run --task t-cancel -o json
out_has '"killed_by":"cancel"'
out_has 'the task was cancelled or its lease lost'

# a run for a swarm is an SLO sample of its swarm; a retired swarm's worker claims nothing
run 0 chassis run --swarm w9 "$FIX/print.wasm" -o json
run 0 slo define w9 --success 0.5 --window 1d
run 0 slo status w9 -o json
out_has '"objective":"success","target":0.5,"measured":1,"met":true,"samples":1'
run 0 swarm register --id w8 -c code-analysis:general
run 0 swarm retire w8
run 4 chassis serve --swarm w8 --drain "$FIX/print.wasm"
err_has 'retired'

finish
