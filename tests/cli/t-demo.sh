# ifctl demo against a real local server: it drives the coordinator (tasks
# pushed, claimed, finished, each step witnessed), registers its swarms with
# budgets and SLO objectives, records the usage of completed work, sends
# heartbeats, stops cleanly on SIGTERM with nothing left claimed, and
# refuses what it cannot do.
. "$(dirname "$0")/lib.sh"

run 6 demo --duration 1 --server nats://127.0.0.1:1
run 0 up -q
run 7 --read-only demo --duration 1
err_has "refusing 'demo': read-only mode"
run 2 demo --swarms 9
err_has 'swarms'

# A timed run: its counts, typed; the tasks and the ledger agree with them.
run 0 demo --duration 3 --rate 600 --seed 7 -o json
"$BUILD/tests/schemacheck" schemas/demo.schema.json <"$OUT" && ok || not_ok "demo -o json is not demo"
pushed=$(sed 's/.*"pushed":\([0-9]*\).*/\1/' "$OUT")
cp "$OUT" "$OUT.demo"
claimed=$(sed 's/.*"claimed":\([0-9]*\).*/\1/' "$OUT")
check "[ '$pushed' -ge 5 ] && [ '$claimed' -ge 1 ]"
out_has '"errors":0'
run 0 task list -o json
check "[ \$(grep -o '\"id\"' '$OUT' | wc -l) -eq $pushed ]"
out_lacks '"state":"claimed"'		# released on the way out
run 0 witness query --event task.claim -o json
check "[ \$(grep -o '\"event\":\"task.claim\"' '$OUT' | wc -l) -eq $claimed ]"
run 0 witness verify

# The fleet around the tasks, through the same operations: swarms registered
# with the registry's capabilities and alive, budgets, objectives, usage.
completed=$(sed 's/.*"completed":\([0-9]*\).*/\1/' "$OUT.demo")
run 0 swarm list -o json
check "[ \$(grep -o '\"id\":\"swarm-' '$OUT' | wc -l) -eq 6 ]"
out_has '"capabilities":\["architecture:security","code-analysis:python"\]'
out_lacks '"last_seen":null'
run 0 cost budget -o json
out_has '"key":"swarm.swarm-atlas"'
out_has '"allocated_micros":40000000'
run 0 slo list -o json
check "[ \$(grep -o '\"swarm\":\"swarm-' '$OUT' | wc -l) -eq 6 ]"
run 0 witness query --event cost.usage -o json
check "[ \$(grep -o '\"event\":\"cost.usage\"' '$OUT' | wc -l) -eq $completed ]"
if [ "$completed" -gt 0 ]; then	# priced from the table, settled against the budgets
	run 0 cost budget -o json
	out_has '"spent_micros":[1-9]'
fi
run 0 witness query --event swarm.register -o json
check "[ \$(grep -o '\"event\":\"swarm.register\"' '$OUT' | wc -l) -eq 6 ]"

# Until SIGTERM: stops with status 0 and its counts.
"$IFCTL" demo --rate 600 -o json >"$OUT" 2>"$ERR" &
pid=$!
i=0
until "$IFCTL" task list --state claimed -o json 2>/dev/null | grep -q '"owner":"swarm-'; do
	i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.1
done
kill -TERM $pid
wait $pid
check "[ $? -eq 0 ]"
out_has '"pushed":[1-9]'
run 0 task list --state claimed -o json
out_lacks '"owner"'
# A second run keeps the swarms (registered once) and the objectives.
run 0 witness query --event swarm.register -o json
check "[ \$(grep -o '\"event\":\"swarm.register\"' '$OUT' | wc -l) -eq 6 ]"

finish
