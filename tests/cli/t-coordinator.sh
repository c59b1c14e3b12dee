# ifctl coordinator / task against a real local server.
. "$(dirname "$0")/lib.sh"

run 0 up -q

# Push: ids, validation, idempotency.
run 0 task push t-1 --title "summarise logs" -c summarise -p 7 --payload '{"file":"a.log"}' -k job-1 -o json
out_json
out_has '"id":"t-1","state":"queued","priority":7'
out_has '"payload":\{"file":"a.log"\}'
run 0 task push --title again -k job-1 -o json --why
out_has '"id":"t-1"'
out_has 'key used before'
run 0 task push t-2 --title low -p 1
run 0 coordinator push --title generated -o json
out_has '"id":"t-[0-9a-f]{12}"'
gen=$(sed 's/.*"id":"\([^"]*\)".*/\1/' "$OUT")

"$IFCTL" task list -o json >"$T_DIR/before"
run 2 task push t-3 --payload '{"a": [1, }'
err_is_one_error
err_has "payload: invalid JSON at line 1, column 11, near '}'"
run 2 task push t-3 --budget -3
err_has "'-3' is not an amount of USD"
run 2 task push t-3 --budget abc
err_has "'abc' is not an amount of USD"
run 2 task push t-3 -p 12
err_has -- '--priority: 12 is out of range 0..9'
run 2 task push 'bad id!'
err_has "invalid task id"
run 1 task push t-1
err_has "task 't-1' already exists"
err_has '\[exists\]'
run 3 task push t-3 --payload @/nonexistent/p.json
err_has "cannot read '/nonexistent/p.json'"
"$IFCTL" task list -o json >"$T_DIR/after"
check "cmp -s '$T_DIR/before' '$T_DIR/after'"
run 8 task push t-1 --mode=falsify
out_has '^id is free +fail'
run 7 task push t-9 --read-only

# Claim: priority, then age; capabilities; --to.
run 2 task claim
err_has 'needs --swarm'
# The generated task (priority 5) goes before t-2 (priority 1); t-1 needs a capability.
run 0 task claim --swarm s1 -o json --why
out_has "\"id\":\"$gen\",\"state\":\"claimed\""
out_has '"owner":"s1"'
out_has "\"factor\":\"task\",\"value\":\"$gen\""
run 0 task claim --swarm s1 -o json
out_has '"id":"t-2","state":"claimed"'
tok2=$(sed 's/.*"token":\([0-9]*\).*/\1/' "$OUT" | head -1)
check "[ -n '$tok2' ] && [ '$tok2' -gt 0 ]"
run 3 task claim --swarm s1
err_has "no ready task for swarm 's1'"
run 8 task claim --swarm s1 --mode=falsify
out_has 'a task is claimable +fail'
run 0 task claim --swarm s2 -c summarise,review -o json
out_has '"id":"t-1"'
tok1=$(sed 's/.*"token":\([0-9]*\).*/\1/' "$OUT" | head -1)
run 0 task push t-4 --to s5
run 3 task claim --swarm s1
run 0 task claim --swarm s5 -o json
out_has '"id":"t-4"'

# Owner operations: only the owner with the current token.
run 0 task heartbeat t-2 --swarm s1 --token "$tok2"
run 7 task heartbeat t-2 --swarm s2 --token "$tok2"
err_is_one_error
err_has "cannot heartbeat task 't-2': claimed by 's1' \(fencing token $tok2\), not by 's2'"
err_has '\[not-owner\]'
run 7 task complete t-2 --swarm s1 --token 1
err_has "stale fencing token 1: 's1' holds it with token $tok2"
run 2 task complete t-2 --swarm s1 --token "$tok2" --result '{"ok":'
err_has 'result: invalid JSON'
run 8 task complete t-2 --swarm s9 --token 1 --mode=falsify
out_has '^caller owns it +fail'
out_has '^fencing token is current +fail'
run 0 task complete t-2 --swarm s1 --token "$tok2" --result '{"ok":true}' -o json
out_has '"state":"done"'
out_has '"result":\{"ok":true\}'
run 7 task complete t-2 --swarm s1 --token "$tok2"
err_has "it is done, not claimed"
run 3 task complete nosuch --swarm s1 --token 1
err_has "task 'nosuch' not found"
run 2 task complete t-2 --swarm s1
err_has 'needs --token'

# Fail: retried with backoff; release puts it back; dead after the last attempt.
run 0 task fail t-1 --swarm s2 --token "$tok1" --reason "model timeout" -o json
out_has '"state":"queued"'
out_has '"reason":"model timeout"'
out_has '"not_before":"'
run 0 task push t-5 --max-attempts 1
run 0 task claim --swarm s7 -o json
tok5=$(sed 's/.*"token":\([0-9]*\).*/\1/' "$OUT")
out_has '"id":"t-5"'
run 0 task fail t-5 --swarm s7 --token "$tok5" -o json
out_has '"state":"dead"'
run 0 task push t-6
run 0 task claim --swarm s8 -o json
tok6=$(sed 's/.*"token":\([0-9]*\).*/\1/' "$OUT")
run 0 task release t-6 --swarm s8 --token "$tok6" -o json
out_has '"state":"queued"'
out_has '"attempts":0,.*"max_attempts":5'

# An expired lease is taken over, safely, without a reaper.
IF_COORDINATOR_LEASE_MS=100 run 0 task claim --swarm a -o json
out_has '"id":"t-6"'
tokA=$(sed 's/.*"token":\([0-9]*\).*/\1/' "$OUT")
sleep 0.3
run 0 task claim --swarm b -o json --why --trace=tr-takeover
out_has '"id":"t-6","state":"claimed"'
out_has '"owner":"b"'
out_has "previous owner's lease expired"
# A takeover is its own kind of event, in the witness and on IF_EVENTS.
run 0 witness trace tr-takeover -o json
out_has '"event":"task.takeover","actor":"b","trace":"tr-takeover","swarm":"b","task":"t-6"'
run 7 task heartbeat t-6 --swarm a --token "$tokA"
err_has "claimed by 'b'"

# An expired lease of a task pushed to another swarm does not hide the next one.
run 0 task push t-10 --to sx
run 0 task push t-11
IF_COORDINATOR_LEASE_MS=100 run 0 task claim --swarm sx -o json
out_has '"id":"t-10"'
IF_COORDINATOR_LEASE_MS=100 run 0 task claim --swarm sz -o json
out_has '"id":"t-11"'
sleep 0.3
run 0 task claim --swarm sy -o json
out_has '"id":"t-11","state":"claimed"'
out_has '"owner":"sy"'

# show, list, stats, watch.
run 0 task show t-6
out_has 'claimed +b +[0-9]+ +lease takeover$'
run 0 task show t-6 -o json
out_json
out_has '"history":\['
run 3 task show nosuch
run 0 task list --state dead -o csv
out_has '^t-5,dead'
run 0 task list --swarm b --no-headers
out_has '^t-6 '
run 2 task list --state sleeping
run 0 task stats -o json
out_json
out_has '"dead":1'
out_has '"lease_expiries":2'
run 0 task watch -o jsonl --count 3 --heartbeat 0
out_jsonl
out_has '"type":"put","snapshot":true'
run 0 task watch --resume 2 --count 1 -o json
out_has '"rev":2,"at":"[^"]*","id":"t-1"'

# Records other clients wrote that are not tasks: quarantined, never fatal.
# kv_put KEY VALUE: a raw write to IF_TASKS, acknowledged by JetStream.
kv_put() {
	exec 3<>"/dev/tcp/127.0.0.1/${KV_PORT:-$IF_SERVER_PORT}" || return 1
	printf 'CONNECT {"verbose":false,"pedantic":false}\r\nSUB _INBOX.kvput 1\r\nPUB $KV.IF_TASKS.%s _INBOX.kvput %d\r\n%s\r\n' \
		"$1" "$(printf %s "$2" | wc -c)" "$2" >&3
	timeout 5 grep -m1 -q '"seq"' <&3
	exec 3<&-
}
rest='"title":"","capabilities":[],"budget":0,"state":"queued","max_attempts":5,"attempts":0,"created":1,"updated":1,"history":[]}'
kv_put q-x '{"v":1,"id":"q-other","priority":9,'"$rest"
kv_put q-p5 '{"v":1,"id":"q-p5","priority":"5",'"$rest"
kv_put q-nj 'not json'
kv_put q-miss '{"v":1,"id":"q-miss","state":"queued","priority":9}'
run 0 task push q-low -p 0 --to q
run 0 task claim --swarm q -o json
out_has '"id":"q-low","state":"claimed"'
run 3 task claim --swarm q
run 0 task list
out_has '^q-x +invalid .*its id .q-other. is not its key$'
out_has "^q-p5 +invalid .*field 'priority'"
out_has '^q-nj +invalid .*invalid JSON at line 1, column 1'
out_has "^q-miss +invalid .*field 'attempts' is missing"
out_has '^q-low +claimed'
err_has '^ifctl: warning: 4 task records in IF_TASKS are invalid and never claimed$'
run 0 task list --hide-invalid
out_lacks invalid
err_has "4 task records .* \(see 'ifctl task list --state invalid'\)"
run 0 task list --state invalid -o json -q
out_json
out_lacks '"state":"(queued|claimed|done|failed|dead)"'
out_has '"id":"q-x","state":"invalid".*"reason":"its id'
err_empty
run 0 task show q-x
out_has '^state: +invalid$'
out_has "^reason: +its id 'q-other' is not its key$"
run 0 task show q-low
out_has '^state: +claimed$'
run 0 task stats -o json
out_has '"invalid":4'
timeout 2 "$IFCTL" task watch >"$OUT" 2>"$ERR"
check "grep -qE ' invalid +q-x +its id .q-other. is not its key$' '$OUT'"
# The watch's event loop: heartbeats from its timer; Ctrl-C ends it (130).
timeout --preserve-status -s INT 2.5 "$IFCTL" task watch -o jsonl --heartbeat 1 >"$OUT" 2>"$ERR"
check "[ $? -eq 130 ]"
check "grep -q '^{\"type\":\"heartbeat\",.*\"connection\":\"connected\"}$' '$OUT'"
check "grep -q '^{\"type\":\"snapshot_done\"}$' '$OUT'"
run 1 task complete q-p5 --swarm q --token 1
err_is_one_error
err_has "task 'q-p5' has an invalid record \(revision [0-9]+\): task record: field 'priority'"
err_has '\[invalid-record\]$'

# Ids the KV key rules refuse fail as bad values before anything is written.
for bad in 'x..y' 'x.' 'a=b'; do
	run 2 task push "$bad" -k "key-$bad"
	err_is_one_error
	err_has "invalid task id '$bad'"
	run 2 task show "$bad"
	err_has '\[bad-value\]'
	run 2 task complete "$bad" --swarm s1 --token 1
	err_has '\[bad-value\]'
done
run 0 task push key-ok -k 'key-x..y' -o json
out_has '"id":"key-ok"'

# A record over the server's max payload is refused first; its key stays free.
head -c 8350000 /dev/zero | tr '\0' a | sed 's/^/"/;s/$/"/' >"$T_DIR/big.json"
run 2 task push big-1 --payload @"$T_DIR/big.json" -k big-key
err_is_one_error
err_has "task 'big-1' would be [0-9]+ bytes: the server takes at most 8388608 \(its max payload\)"
run 0 task push big-2 -k big-key -o json
out_has '"id":"big-2"'
# A key that names nothing (its push died after taking it) is repaired.
ikey=idem.$(printf %s stranded | sha256sum | cut -c1-32)
kv_put "$ikey" ghost
IF_NATS_TIMEOUT_MS=300 run 0 task push str-1 -k stranded -o json
out_has '"id":"str-1"'
run 0 task push str-2 -k stranded -o json
out_has '"id":"str-1"'
run 3 task show str-2

# Bad input is refused before connecting, so its error wins over an outage.
run 0 down -q
run 2 task push t-7 --payload '{"x":}'
err_has 'payload: invalid JSON'
run 2 task complete t-2 --swarm s1 --token abc
err_has -- "--token: 'abc' is not an integer"
run 0 up -q

# Listing at scale: the bucket is read once (a watch snapshot), so 6,000
# tasks list where kvStore_Keys used to time out; pages with --limit and
# --continue cover every task once; filters; bad input exits 2.
run 0 up -q
LOAD=$BUILD/tests/loadtasks
"$LOAD" "nats://127.0.0.1:$IF_SERVER_PORT" IF_TASKS 6000 pg
run 0 task list --state queued -o jsonl
check "[ \$(grep -c '\"pg-' \"$OUT\") = 6000 ]"
run 0 task stats -o json
out_has '"queued":6[0-9]{3}'
run 0 task list -c gpu --state queued -o jsonl
check "[ \$(grep -c '\"pg-' \"$OUT\") = 3000 ]"
run 0 task list --newer-than 1h --older-than 1ms --limit 7000
out_has 'pg-'
run 0 task list --older-than 1d
out_lacks 'pg-'
run 0 task list --state queued --limit 2500 -o json
"$BUILD/tests/schemacheck" schemas/task-page.schema.json metadata <"$OUT" && ok || not_ok "page metadata"
out_has '"remaining":[0-9]+'
err_has 'more tasks: run again with the same filters and --continue '
tok=$(sed -n 's/.*"continue":"\([^"]*\)".*/\1/p' "$OUT")
grep -o '"id":"pg-[0-9]*"' "$OUT" >"$T_DIR/ids"
n=0
while [ -n "$tok" ] && [ $n -lt 10 ]; do
	run 0 task list --state queued --limit 2500 --continue "$tok" -o json
	grep -o '"id":"pg-[0-9]*"' "$OUT" >>"$T_DIR/ids"
	tok=$(sed -n 's/.*"continue":"\([^"]*\)".*/\1/p' "$OUT")
	n=$((n + 1))
done
check "[ \$(wc -l <\"$T_DIR/ids\") = 6000 ] && [ \$(sort -u \"$T_DIR/ids\" | wc -l) = 6000 ]"
out_has '"continue":null'
run 2 task list --limit 0
err_has -- '--limit: 0 is out of range'
run 2 task list --limit abc
run 2 task list --continue garbage
err_has -- "--continue: 'garbage' is not a continue token"
run 0 task list --limit 1 --state queued
tok=$(sed -n 's/.*--continue \([^ ]*\)$/\1/p' "$ERR")
run 2 task list --limit 1 --state done --continue "$tok"
err_has 'made for other --state'
run 2 task list --older-than 7x
err_has -- "--older-than: '7x' is not an age"
run 2 task list --newer-than -- -5m
err_is_one_error

# Operator verbs: cancel ends a queued or claimed task as dead with the
# reason; the owner is refused naming it; requeue brings it back, attempts
# reset; wrong states are conflicts (exit 1), nothing written.
run 0 down -q
rm -rf "$IF_HOME/nats" "$IF_HOME"/index.db*	# a fresh store: the index is its cache
run 0 up -q
run 0 task push op-1 -q
run 0 task claim --swarm so -o json
out_has '"id":"op-1"'
tok=$(sed -n 's/.*"token":\([0-9]*\).*/\1/p' "$OUT")
run 0 task cancel op-1 --mode=falsify
out_has 'task is queued or claimed +pass'
run 8 task cancel nosuch --mode=falsify
run 7 --read-only task cancel op-1
run 3 task cancel nosuch
run 0 task cancel op-1 --why=stuck --trace=tr-cancel
out_has 'state: +dead'
out_has "reason: +cancelled by '.*': stuck"
run 7 task complete op-1 --swarm so --token "$tok"
err_has "it is dead \\(cancelled by '.*': stuck\\), not claimed"
run 7 task heartbeat op-1 --swarm so --token "$tok"
run 1 task cancel op-1
err_has "cannot cancel task 'op-1': it is dead, not queued or claimed"
run 0 task show op-1 -o json
cp "$OUT" "$T_DIR/before"
run 0 task requeue op-1 --mode=falsify
run 0 task show op-1 -o json
check "cmp -s \"$OUT\" \"$T_DIR/before\""
run 0 task requeue op-1 --why=retry --trace=tr-requeue
out_has 'state: +queued'
out_has 'attempts: +0/'
run 1 task requeue op-1
err_has "cannot requeue task 'op-1': it is queued, not failed or dead"
run 8 task requeue op-1 --mode=falsify
run 0 task show op-1
out_has 'requeued: retry'
run 0 witness trace tr-cancel -o json
out_has '"event":"task.cancel",.*"task":"op-1"'
run 0 witness trace tr-requeue -o json
out_has '"event":"task.requeue",.*"task":"op-1"'
run 0 witness verify -q

# The archive: with coordinator.retain 0 a finished task leaves IF_TASKS at
# once; show, list --state done, requeue and witness trace still reach it.
run 0 task push ar-1 -q --trace=tr-archive
run 0 task push ar-2 -q
run 0 task claim --swarm sa -o json
tok=$(sed -n 's/.*"token":\([0-9]*\).*/\1/p' "$OUT")
arid=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$OUT")
IF_COORDINATOR_RETAIN=0 run 0 task complete "$arid" --swarm sa --token "$tok" -q
run 0 task list -o json
out_lacks "\"id\":\"$arid\""
run 0 task list --state done -o json
out_has "\"id\":\"$arid\",\"state\":\"done\""
run 0 task list --all -o jsonl
out_has "\"id\":\"$arid\""
run 0 task show "$arid" -o json
out_has '"state":"done"'
out_has '"archived":true'
check "$BUILD/tests/schemacheck schemas/task.schema.json <'$OUT'"
run 0 task stats -o json
conforms_stats=$(grep -c '"archived":1' "$OUT"); check "[ $conforms_stats -eq 1 ]"
run 1 task cancel "$arid"
err_has "it is done, not queued or claimed"
run 7 task complete "$arid" --swarm sa --token "$tok"
err_has "it is done"
# A sweep with the default retain (24h) moves nothing; --retain 0 moves op-1's
# neighbours once finished; a falsified sweep moves nothing.
run 0 task cancel ar-2 -q
run 0 task archive -o json
out_has '"action":"archived","tasks":0'
run 0 task archive --retain 0 --mode=falsify -o json
run 0 task list --state dead -o json
dead_live=$(grep -o '"id"' "$OUT" | wc -l)
run 0 task archive --retain 0 -o json
out_has '"action":"archived","tasks":[1-9]'
check "$BUILD/tests/schemacheck schemas/task-moved.schema.json <'$OUT'"
run 0 task list --state dead -o json
check "[ $(grep -o '"id"' "$OUT" | wc -l) -eq $dead_live ]"
run 0 task list -o json
out_lacks '"state":"dead"'
# requeue of an archived task brings it back live
run 0 task list --state dead -o json
deadid=$(grep -o '"id":"[^"]*","state":"dead"' "$OUT" | head -1 | sed 's/"id":"\([^"]*\)".*/\1/')
run 0 task requeue "$deadid" --why=again -o json
out_has '"state":"queued"'
run 0 task list --state queued -o json
out_has "\"id\":\"$deadid\""
# purge: bad arguments are usage errors (2), nothing changed; then it purges.
run 0 task stats -o json
cp "$OUT" "$T_DIR/stats-before"
run 2 task purge --state done
err_has -- '--older-than'
run 2 task purge --state queued --older-than 7d
err_has "is not done, failed or dead"
run 2 task purge --state done --older-than yesterday
err_has "is not an age"
run 2 task purge --state done --older-than 0
run 2 task purge x --state done --older-than 1s
run 0 task stats -o json
check "cmp -s '$T_DIR/stats-before' '$OUT' || diff '$T_DIR/stats-before' '$OUT' | grep -q claims_per_s"
run 0 task purge --state done --older-than 1ms --mode=falsify
out_has 'tasks to purge +pass'
run 0 task show "$arid" -q
sleep 0.01
run 0 task purge --state done --older-than 1ms -o json --trace=tr-purge
out_has '"action":"purged","tasks":1'
run 3 task show "$arid"
run 0 witness trace tr-purge -o json
out_has 'purge'
run 0 task watch -o jsonl --heartbeat 0 --state queued --count 1
out_has '"state":"queued"'
run 0 task watch -o jsonl --heartbeat 0 --since 1h --count 1
out_has '"type":"put","snapshot":true'
run 2 task watch --since 1y
err_has -- "--since: '1y' is not an age"
run 2 task watch --state archived
run 2 task archive --every 0
err_has -- "--every: '0' is not an age"
# --every: a line per sweep until a signal ends it (exit 130)
"$IFCTL" task archive --retain 1h --every 100ms >"$OUT" 2>"$ERR" &
apid=$!
until [ "$(wc -l <"$OUT")" -ge 2 ]; do sleep 0.05; done
kill -INT $apid
wait $apid
check "[ $? -eq 130 ]"
out_has 'archived 0 tasks \(0 changed meanwhile\)'
run 2 task archive --retain forever
IF_COORDINATOR_RETAIN=soon run 2 task archive
err_has "coordinator.retain: 'soon' is not a duration"

# A full store: store-full with a remedy about the limits (exit 1).
fport=$($FREEPORT)
mkdir -p "$T_DIR/full"
printf 'listen: "127.0.0.1:%s"\njetstream { store_dir: "%s", max_file_store: 600KB }\n' \
	"$fport" "$T_DIR/full" >"$T_DIR/full.conf"
$(command -v nats-server || echo /usr/sbin/nats-server) -c "$T_DIR/full.conf" >"$T_DIR/full.log" 2>&1 &
T_PIDS="$T_PIDS $!"
until (exec 3<>"/dev/tcp/127.0.0.1/$fport") 2>/dev/null; do sleep 0.05; done
head -c 150000 /dev/zero | tr '\0' a | sed 's/^/"/;s/$/"/' >"$T_DIR/mid.json"
run 0 --server "nats://127.0.0.1:$fport" up --schema-only -q
i=0
while IF_NATS_URL="nats://127.0.0.1:$fport" "$IFCTL" task push "full-$i" \
	--payload @"$T_DIR/mid.json" >"$OUT" 2>"$ERR" && [ $i -lt 20 ]; do i=$((i + 1)); done
check "[ $i -ge 1 ] && [ $i -lt 20 ]"
LAST="task push full-$i"
err_is_one_error
err_has 'insufficient resources'
err_has "remedy: raise the stream's or bucket's max bytes .*\[store-full\]$"
IF_NATS_URL="nats://127.0.0.1:$fport" run 1 task push "full-x" --payload @"$T_DIR/mid.json"

# The task index ($IF_HOME/index.db): stats from it agree with a count from
# the bucket (--read-only with a stale index counts from the bucket and writes
# nothing) after pushes, claims, completes, archive moves and purges above,
# a deleted file, a server restart; a damaged file is a warning, never wrong counts.
stats_file() { sed 's/"claims_per_s_60s":[0-9.]*,//' "$OUT" >"$T_DIR/$1"; }
idx_agree() {
	run 0 task push "ix-$1" --title ix
	run 0 task stats --read-only --why
	out_has 'one snapshot of the bucket'
	run 0 task stats --read-only -o json
	stats_file scan
	run 0 task stats --why
	out_has 'from the task index'
	run 0 task stats -o json
	stats_file idx
	check "cmp -s '$T_DIR/scan' '$T_DIR/idx'"
	run 0 task stats --read-only --why
	out_has 'from the task index'
}
idx_agree 1
run 0 task claim --swarm ix -o json
ixtok=$(sed 's/.*"token":\([0-9]*\).*/\1/' "$OUT"); ixid=$(sed 's/.*"id":"\([^"]*\)".*/\1/' "$OUT")
run 0 task complete "$ixid" --swarm ix --token "$ixtok"
idx_agree 2
run 0 task archive --retain 0
run 0 task stats --why
out_has 'rows of tasks moved to the archive dropped'
idx_agree 3
# task list from the same index: pages found there, records read by
# sequence; --read-only with a stale index lists from the buckets, the same
# tasks; done tasks page through the archive, each once.
run 0 task list --limit 50 --why
out_has 'places from the task index'
run 0 task push ix-ro --title ro
run 0 task list --read-only --why
out_has 'one snapshot of IF_TASKS'
out_has '^ix-ro '
run 0 task list --read-only -o json -q
cp "$OUT" "$T_DIR/list-ro"
run 0 task list -o json -q
check "cmp -s '$T_DIR/list-ro' '$OUT'"
run 0 task list --read-only --limit 5 --why
out_has 'places from the task index'
run 0 task list --state done -o jsonl -q
grep -o '"id":"[^"]*"' "$OUT" | sort >"$T_DIR/done-all"
check "[ -s '$T_DIR/done-all' ] && grep -q '\"archived\":true' '$OUT'"
: >"$T_DIR/done-paged"
run 0 task list --state done --limit 1 -o json
while :; do
	grep -o '"id":"[^"]*"' "$OUT" >>"$T_DIR/done-paged"
	tok=$(sed -n 's/.*"continue":"\([^"]*\)".*/\1/p' "$OUT")
	[ -n "$tok" ] || break
	run 0 task list --state done --limit 1 --continue "$tok" -o json
done
sort -o "$T_DIR/done-paged" "$T_DIR/done-paged"
check "cmp -s '$T_DIR/done-all' '$T_DIR/done-paged'"
rm -f "$IF_HOME/index.db" "$IF_HOME/index.db-wal" "$IF_HOME/index.db-shm"
run 0 task stats --read-only -o json
check "[ ! -e '$IF_HOME/index.db' ]"
idx_agree 4
run 0 down -q
run 0 up -q
run 0 task stats --why
out_has 'synced: 0 messages'
idx_agree 5
run 0 task watch --since 1h -o jsonl --count 1
out_has '"snapshot":true'
run 0 task watch --since 1h --state queued --count 1
out_has 'queued'
# --state narrows the snapshot through the index: the same records, in the
# same order, as the snapshot filtered here (--read-only), then snapshot_done.
run 0 task stats -o json
nq=$(sed 's/.*"queued":\([0-9]*\).*/\1/' "$OUT")
run 0 task watch --state queued -o jsonl --heartbeat 0 --count "$nq" --read-only
grep -o '"id":"[^"]*"' "$OUT" >"$T_DIR/w-scan"
run 0 task watch --state queued -o jsonl --heartbeat 0 --count "$nq"
grep -o '"id":"[^"]*"' "$OUT" >"$T_DIR/w-idx"
check "[ -s '$T_DIR/w-idx' ] && cmp -s '$T_DIR/w-scan' '$T_DIR/w-idx'"
# --since: from the index's time marks, or (--read-only) the server's start
# by time: the same changes.
run 0 task watch --since 1h -o jsonl --heartbeat 0 --count 3 --read-only
grep -o '"rev":[0-9]*' "$OUT" >"$T_DIR/s-scan"
run 0 task watch --since 1h -o jsonl --heartbeat 0 --count 3
grep -o '"rev":[0-9]*' "$OUT" >"$T_DIR/s-idx"
check "[ -s '$T_DIR/s-idx' ] && cmp -s '$T_DIR/s-scan' '$T_DIR/s-idx'"
"$IFCTL" task watch --state dead -o jsonl --heartbeat 0 --count 1 >"$T_DIR/w-dead" 2>&1 &
wpid=$!
sleep 0.5
kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
check "grep -q snapshot_done '$T_DIR/w-dead' && ! grep -q '\"put\"' '$T_DIR/w-dead'"
rm -f "$IF_HOME/index.db" "$IF_HOME/index.db-wal" "$IF_HOME/index.db-shm"
head -c 4096 /dev/urandom >"$IF_HOME/index.db"
run 0 task stats -o json
err_has 'index .* is damaged'
stats_file bad
run 0 task stats --read-only -o json
stats_file scan
check "cmp -s '$T_DIR/scan' '$T_DIR/bad'"
rm -f "$IF_HOME/index.db"

# A server that is down: exit 6, nothing hangs.
run 0 down -q
IF_NATS_TIMEOUT_MS=300 run 6 task list
err_is_one_error

finish
