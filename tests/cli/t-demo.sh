# ifctl demo against a real local server: it drives the coordinator (tasks
# pushed, claimed, finished, each step witnessed), stops cleanly on SIGTERM
# with nothing left claimed, and refuses what it cannot do.
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
claimed=$(sed 's/.*"claimed":\([0-9]*\).*/\1/' "$OUT")
check "[ '$pushed' -ge 5 ] && [ '$claimed' -ge 1 ]"
out_has '"errors":0'
run 0 task list -o json
check "[ \$(grep -o '\"id\"' '$OUT' | wc -l) -eq $pushed ]"
out_lacks '"state":"claimed"'		# released on the way out
run 0 witness query --event task.claim -o json
check "[ \$(grep -o '\"event\":\"task.claim\"' '$OUT' | wc -l) -eq $claimed ]"
run 0 witness verify

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

finish
