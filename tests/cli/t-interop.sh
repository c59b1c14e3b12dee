# Another client on the same fleet: tests/interop/fleet.js (nats.js), written
# from ifctl-protocol(7) alone, pushes, claims, heartbeats, completes, fails
# and releases tasks and publishes their events next to ifctl's own
# claimers. ifctl must see all of it as valid tasks, honour the other
# client's idempotency keys and fencing tokens, and no task may be claimed by
# two at once. Skipped (saying why) only when nats.js could not be installed
# (make deps runs npm install in tests/interop/).
. "$(dirname "$0")/lib.sh"
SCHEMACHECK=$BUILD/tests/schemacheck
FLEET=tests/interop/fleet.js

if ! command -v node >/dev/null; then
	echo "# skipped: node is not installed (make deps installs nodejs)"
	exit 0
fi
if [ ! -f tests/interop/node_modules/nats/package.json ]; then
	echo "# skipped: nats.js is not in tests/interop/node_modules (make deps runs" \
	     "'npm install' there: $(tail -1 tests/interop/npm.log 2>/dev/null || echo 'it has not run'))"
	exit 0
fi

# Leaks are for the unit and CLI suites to find; here a leak report at exit
# would turn an operation that succeeded into a failure and skew the counts.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

# The plain capability names this test uses, declared as a site declares its own.
export IF_GOVERNOR_CAPABILITIES="$IF_GOVERNOR_CAPABILITIES,cross,solo,again"
run 0 up -q
URL="nats://127.0.0.1:$IF_SERVER_PORT"
js() { node "$FLEET" "$URL" "$@"; }

# Everyone's events, for the whole run.
node "$FLEET" "$URL" events 120000 >"$T_DIR/events" 2>"$T_DIR/events.err" &
EV_PID=$!
T_PIDS="$T_PIDS $EV_PID"
i=0
until grep -q '^ready$' "$T_DIR/events" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 500 ] && break; sleep 0.01
done

# Fencing across clients: ifctl claims, the other completes with its token;
# the other claims, ifctl heartbeats and completes with that one.
run 0 task push x-1 --title cross -c cross
run 0 task claim --swarm mix-1 -c cross -o json
tok=$(jq .token "$OUT")
LAST="fleet.js owner complete with a stale token"
js owner complete x-1 mix-1 $((tok + 1)) >"$OUT" 2>"$ERR" && not_ok "$LAST: accepted" || ok
LAST="fleet.js owner complete"
js owner complete x-1 mix-1 "$tok" '{"ok":1}' >"$OUT" 2>"$ERR" && ok || not_ok "$LAST"
run 0 task show x-1 -o json
check "[ \"\$(jq -r .state '$OUT')\" = done ] && [ \"\$(jq -c .result '$OUT')\" = '{\"ok\":1}' ]"
run 0 task push x-2 --title cross2 -c cross
LAST="fleet.js claim"
js claim mix-2 cross >"$OUT" 2>"$ERR" && ok || not_ok "$LAST"
tok=$(jq .token "$OUT")
run 7 task complete x-2 --swarm mix-2 --token $((tok + 1))
run 0 task heartbeat x-2 --swarm mix-2 --token "$tok"
run 0 task release x-2 --swarm mix-2 --token "$tok"
run 0 task show x-2 -o json
check "[ \"\$(jq -r .state '$OUT')\" = queued ] && [ \"\$(jq .attempts '$OUT')\" = 0 ]"

# Fail: the last attempt dies; a retry waits out its backoff.
js push-one '{"id":"d-1","title":"once","max_attempts":1,"capabilities":["solo"]}' >/dev/null
js claim js-solo solo >"$OUT" 2>/dev/null
tok=$(jq .token "$OUT")
js owner fail d-1 js-solo "$tok" '{"reason":"broke"}' >/dev/null 2>&1
run 0 task show d-1 -o json
check "[ \"\$(jq -r .state '$OUT')\" = dead ] && [ \"\$(jq -r .reason '$OUT')\" = broke ]"
run 0 task push r-1 --title retry -c again --max-attempts 3
run 0 task claim --swarm ifc-r -c again -o json
tok=$(jq .token "$OUT")
LAST="fleet.js owner fail (retry)"
js owner fail r-1 ifc-r "$tok" '{"reason":"flaky","backoff_ms":600000}' >"$OUT" 2>"$ERR" && ok || not_ok "$LAST"
run 0 task show r-1 -o json
check "[ \"\$(jq -r .state '$OUT')\" = queued ] && [ \"\$(jq .attempts '$OUT')\" = 1 ]"
run 3 task claim --swarm ifc-r -c again
err_has "in retry backoff: 1 \('r-1' until "

# Push from both sides; the other client's idempotency key is ifctl's too.
LAST="fleet.js push"
js push 12 js js-key >"$OUT" 2>"$ERR" && ok || not_ok "$LAST"
out_has '"id":"js-11","existed":false'
run 0 task push -k js-key --title "another title" -o json
out_has '"id":"js-0"'
for i in $(seq 0 11); do
	c=""; [ $((i % 2)) = 0 ] && c="-c summarise"
	# shellcheck disable=SC2086
	"$IFCTL" task push "if-$i" --title "ifctl task $i" -p $((i % 10)) $c -q >/dev/null || not_ok "push if-$i"
done
LAST="fleet.js push -k (ifctl's key)"
"$IFCTL" task push extra -k if-key --title "pushed by ifctl" -q
js push-one '{"id":"extra-2","title":"t","idempotency_key":"if-key"}' >"$OUT" 2>"$ERR" && ok || not_ok "$LAST"
out_has '"id":"extra","existed":true'

# Drain the queue from both sides at once: two nats.js claimers, two ifctl ones.
ifc_drain() {
	idle=0
	while [ $idle -lt 20 ]; do
		if out=$("$IFCTL" task claim --swarm "$1" -c summarise -o json 2>/dev/null); then
			idle=0
			id=$(printf '%s' "$out" | jq -r .id)
			tok=$(printf '%s' "$out" | jq .token)
			"$IFCTL" task complete "$id" --swarm "$1" --token "$tok" -q >/dev/null &&
				printf '{"swarm":"%s","id":"%s","token":%s,"did":"complete"}\n' "$1" "$id" "$tok"
		else
			idle=$((idle + 1)); sleep 0.1
		fi
	done
}
js drain jsw-1 >"$T_DIR/d1" 2>"$T_DIR/d1.err" &
P1=$!
js drain jsw-2 >"$T_DIR/d2" 2>"$T_DIR/d2.err" &
P2=$!
ifc_drain ifc-1 >"$T_DIR/d3" &
P3=$!
ifc_drain ifc-2 >"$T_DIR/d4" &
P4=$!
wait $P1 $P2 $P3 $P4
cat "$T_DIR"/d1 "$T_DIR"/d2 "$T_DIR"/d3 "$T_DIR"/d4 >"$T_DIR/drained"
check "[ ! -s '$T_DIR/d1.err' ] && [ ! -s '$T_DIR/d2.err' ]"
# Every one of the 25 tasks was completed exactly once, by both kinds of claimer.
completed=$(jq -r 'select(.did == "complete") | .id' "$T_DIR/drained" | sort)
check "[ \$(printf '%s\n' '$completed' | wc -l) = 25 ]"
check "[ -z \"\$(printf '%s\n' '$completed' | uniq -d)\" ]"
check "grep -q '\"swarm\":\"jsw-' '$T_DIR/drained' && grep -q '\"swarm\":\"ifc-' '$T_DIR/drained'"
# No claim token was handed out twice.
check "[ -z \"\$(jq -r '[.id, .token] | @tsv' '$T_DIR/drained' | sort | uniq -d)\" ]"

# ifctl sees it all: every record valid, the counts right, the retries kept.
run 0 task list --state invalid -o json
out_has '^\[\]$'
run 0 task stats -o json
check "[ \"\$(jq .done '$OUT')\" = 26 ] && [ \"\$(jq .dead '$OUT')\" = 1 ] && [ \"\$(jq .invalid '$OUT')\" = 0 ]"
# A task the other client failed once was retried after its backoff and done.
retried=$(jq -r 'select(.did == "fail") | .id' "$T_DIR/drained" | head -1)
check "[ -n '$retried' ]"
run 0 task show "$retried" -o json
check "[ \"\$(jq -r .state '$OUT')\" = done ] && [ \"\$(jq .attempts '$OUT')\" = 2 ]"
out_has '"note":"interop retry"'
# In every record: one owner at a time (claim tokens rise), ended once.
js records >"$T_DIR/records"
check "[ \"\$(jq -s '[.[] | select([.history[] | select(.state == \"claimed\") | .token] as \$t | \$t != (\$t | sort | unique))] | length' '$T_DIR/records')\" = 0 ]"
check "[ \"\$(jq -s '[.[] | select([.history[] | select(.state == \"done\")] | length > 1)] | length' '$T_DIR/records')\" = 0 ]"
if "$SCHEMACHECK" -l schemas/task-record.schema.json <"$T_DIR/records" 2>"$T_DIR/schema.err"; then ok
else not_ok "a stored task is not a task-record: $(head -3 "$T_DIR/schema.err")"; fi

# Events: both clients', on if.v1.evt.task.<state>, each a task-event.
kill "$EV_PID" 2>/dev/null
wait "$EV_PID" 2>/dev/null
grep '^if\.v1\.evt\.task\.' "$T_DIR/events" >"$T_DIR/ev"
sed 's/^[^ ]* //' "$T_DIR/ev" >"$T_DIR/ev.json"
if "$SCHEMACHECK" -l schemas/task-event.schema.json <"$T_DIR/ev.json" 2>"$T_DIR/schema.err"; then ok
else not_ok "an event is not a task-event: $(head -3 "$T_DIR/schema.err")"; fi
check "[ -z \"\$(awk '{ split(\$1, s, \".\"); if (index(\$2, \"\\\"state\\\":\\\"\" s[5] \"\\\"\") == 0) print }' '$T_DIR/ev')\" ]"
check "grep -q '\"verb\":\"claim\".*\"by\":\"jsw-' '$T_DIR/ev.json'"
check "grep -q '\"verb\":\"complete\".*\"by\":\"ifc-' '$T_DIR/ev.json'"
check "grep -q '\"verb\":\"fail\".*\"by\":\"js-solo\"' '$T_DIR/ev.json'"
check "grep -q '\"verb\":\"push\".*\"by\":\"js@interop\"' '$T_DIR/ev.json'"
# A usage record published by the other client (COST AND BUDGETS), settled
# by ifctl and in its report and budget.
run 0 cost allocate js-u 5
now=$(($(date +%s) * 1000))
js usage "{\"v\":1,\"id\":\"js-u-1\",\"swarm\":\"js-u\",\"task\":null,\"trace\":null,\"provider\":\"openai\",\"model\":\"gpt-4o\",\"operation\":\"chat\",\"tokens_in\":1000000,\"tokens_out\":0,\"at\":$now}" \
	>"$OUT" 2>"$ERR" && ok || not_ok "nats.js usage publish: $(cat "$ERR")"
out_has '"stream":"IF_COST"'
run 0 optimise settle -o json
out_has '"settled":1,'
run 0 cost report --swarm js-u -o json
out_has '"key":"js-u","records":1,.*"cost_usd":2.5'
run 0 cost budget js-u -o json
out_has '"spent_usd":2.50,'

echo "# nats.js and ifctl: $(wc -l <"$T_DIR/ev") events, $(wc -l <"$T_DIR/records") records, $(wc -l <"$T_DIR/drained") claims drained, none twice"
finish
