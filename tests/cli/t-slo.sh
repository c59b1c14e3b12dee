# ifctl slo against a real local server: samples published as a client
# would (tests/helper/slopub.c) and by the coordinator, objectives, status
# verdicts and exit codes, breach episodes opened and closed once (also by
# two evaluators at once), bad input refused with nothing stored, hostile
# samples counted, the JSON output against its schemas.
. "$(dirname "$0")/lib.sh"
SLOPUB=$BUILD/tests/slopub
SCHEMACHECK=$BUILD/tests/schemacheck
conforms() {
	if "$SCHEMACHECK" "schemas/$1.schema.json" ${2+"$2"} <"$OUT" 2>"$T_DIR/schema.err"; then ok
	else not_ok "$LAST: not $1: $(head -3 "$T_DIR/schema.err")"; fi
}
# pub: publish the sample lines on stdin ("SWARM KIND AGO_MS [LATENCY_MS OK]").
pub() { "$SLOPUB" "nats://127.0.0.1:$IF_SERVER_PORT" pub 2>"$T_DIR/pub.err" || not_ok "slopub: $(cat "$T_DIR/pub.err")"; }
# episodes SWARM: how many episode records violations lists for SWARM.
episodes() { "$IFCTL" slo violations "$1" -o jsonl | grep -c '"episode"'; }

run 0 up -q

# A healthy swarm: fast, successful, heartbeating every 30 s for 20 minutes.
{
	i=0; while [ $i -lt 40 ]; do echo "good task $((i * 30000 + 2000)) 40 1"; echo "good heartbeat $((i * 30000 + 1000))"; i=$((i + 1)); done
} | pub
# A swarm failing half its tasks, slowly, right now.
{
	i=0; while [ $i -lt 20 ]; do echo "bad task $((i * 5000 + 1000)) 3000 $((i % 2))"; i=$((i + 1)); done
} | pub

# Bad input: clear errors, exit 2 or 3, nothing stored.
run 2 slo define good --success 1.5
err_is_one_error
err_has 'success 1.5 is not a share in \(0, 1\)'
run 2 slo define good --p99-ms -5
err_has 'p99_ms -5 is not a latency'
run 2 slo define good --availability 1
err_has 'no error budget'
run 2 slo define good --p99-ms 100 --window 3x
err_has "window '3x' is not a length"
run 2 slo define good
err_has 'at least one of p99_ms, success and availability'
run 2 slo define 'bad id!' --success 0.9
run 3 slo define nosuch --success 0.9
err_has "swarm 'nosuch' is not known"
run 0 slo list -o json
out_has '^\[\]$'

# Falsify: would 'bad' be in breach under this objective? Nothing is stored.
run 8 slo define bad --success 0.9 --p99-ms 1000 --mode=falsify
out_has "swarm 'bad' success objective holds +fail"
out_has "swarm 'bad' latency objective holds +fail"
run 0 slo list -o json
out_has '^\[\]$'
run 0 slo define good --success 0.9 --p99-ms 1000 --mode=falsify

# Definitions.
run 0 slo define good --p99-ms 100 --success 0.99 --availability 0.9 --window 1d -o json
conforms slo-objective-row
out_has '"swarm":"good","p99_ms":100,"success":0.99,"availability":0.9,"window":"1d"'
run 0 slo define bad --p99-ms 1000 --success 0.9 --window 6h
run 0 slo define ghost --success 0.99 --new
run 0 slo list -o json
conforms slo-objective-row '[]'
out_has '"swarm":"bad".*"swarm":"ghost".*"swarm":"good"'
run 0 slo show good -o wide
out_has '^p99_ms: +100$'
out_has '^window: +1d$'
out_has '^revision: +[0-9]+$'
run 3 slo show nope
err_has "swarm 'nope' has no SLO objective"

# Status: a healthy swarm, a swarm with no data, then the breach.
run 0 slo status good -o json
conforms slo-status-row '[]'
out_has '"objective":"latency","target":100,"measured":40\.[0-9]+,"met":true,"samples":40'
out_has '"objective":"success","target":0.99,"measured":1,"met":true,"samples":40,"budget_left":1'
out_has '"objective":"availability","target":0.9,"measured":1,"met":true'
out_has '"verdict":"ok"'
run 0 slo status ghost
out_has 'ghost +success +>=99% +no data'
out_has 'no-data'
run 4 slo status
err_is_one_error
err_has "swarm 'bad' (latency|success) objective: breach"
err_has '\[slo-breach\]'
out_has 'bad +success .* ticket +breach'
out_has 'bad +latency .* page +breach'
out_has 'good +latency .* ok'
run 4 slo status bad --why
out_has 'burn +5m +bad success: 10 bad of 20 = 0.5; / \(1 - 0.9\) = 5x'
out_has 'objective +success +bad: measured 0.5 against 0.9'

# One episode per breach: evaluating again opens nothing new.
run 0 slo violations -o json
conforms slo-violation-row '[]'
check '[ "$(episodes bad)" = 2 ]'
out_has '"swarm":"bad","objective":"latency","episode":1,"state":"open"'
run 4 slo status bad
run 4 slo status
check '[ "$(episodes bad)" = 2 ]'
run 0 witness query --event slo.violation.opened -o jsonl
check '[ "$(grep -c slo.violation.opened "$OUT")" = 2 ]'
run 0 slo violations --open
out_has 'bad +latency +1 +open'

# Read-only and falsify evaluate but record nothing.
{
	i=0; while [ $i -lt 10 ]; do echo "ro task $((i * 1000 + 500)) 10 0"; i=$((i + 1)); done
} | pub
run 0 slo define ro --success 0.9
run 4 slo status ro --read-only
check '[ "$(episodes ro)" = 0 ]'
run 8 slo status ro --mode=falsify
out_has "swarm 'ro' success objective holds +fail"
check '[ "$(episodes ro)" = 0 ]'

# Two evaluators at once open the episode once.
"$IFCTL" slo status ro -q >/dev/null 2>&1 &
p1=$!
"$IFCTL" slo status ro -q >/dev/null 2>&1 &
p2=$!
wait $p1; wait $p2
check '[ "$(episodes ro)" = 1 ]'
run 0 witness query --event slo.violation.opened --swarm ro -o jsonl
check '[ "$(grep -c slo.violation.opened "$OUT")" = 1 ]'

# An episode closes once the objective holds again (a looser one), or is
# no longer defined; it keeps the figures it opened with.
run 0 slo define bad --p99-ms 5000 --success 0.4 --window 6h
run 0 slo status bad
out_has 'bad +success .* ok'
run 0 slo violations bad -o json
out_has '"episode":1,"state":"closed","opened":"[0-9T:.-]+Z","closed":"[0-9T:.-]+Z","measured":0.5,"target":0.9'
run 0 slo status bad
check '[ "$(episodes bad)" = 2 ]'
run 0 slo define ro --p99-ms 1000
run 0 slo status ro
run 0 slo violations ro -o json
out_has '"episode":1,"state":"closed",.*"reason":"success 0 < 0.9"'
run 0 witness query --event slo.violation.closed -o jsonl
check '[ "$(grep -c slo.violation.closed "$OUT")" = 3 ]'
run 0 slo define bad --p99-ms 1000 --success 0.9 --window 6h
run 4 slo status bad
check '[ "$(episodes bad)" = 4 ]'
run 0 slo violations bad --open -o json
out_has '"episode":2,"state":"open"'

# A warning: 20 of 150 failed two hours ago, none in the last hour. Over a
# 1h objective it holds, but 6h and 3d burn at (20/150)/0.1 = 1.33: ticket.
{
	i=0; while [ $i -lt 100 ]; do echo "warn task 7200000 10 $([ $i -lt 20 ] && echo 0 || echo 1)"; i=$((i + 1)); done
	i=0; while [ $i -lt 50 ]; do echo "warn task 600000 10 1"; i=$((i + 1)); done
} | pub
run 0 slo define warn --success 0.9 --window 1h
run 0 slo status warn -o wide
out_has 'warn +success .* 1.33x .* ticket +warn'
run 4 slo status warn --fail-on=warn
err_has "swarm 'warn' success objective: warn: ticket burn"
run 2 slo status warn --fail-on=maybe

# The coordinator's samples: claim to complete (ok) and to fail.
run 0 task push ct-1
run 0 task push ct-2
run 0 task claim --swarm coordsw -o json
tok1=$(sed 's/.*"token":\([0-9]*\),.*/\1/' "$OUT"); id1=$(sed 's/.*"id":"\([^"]*\)".*/\1/' "$OUT")
run 0 task complete "$id1" --swarm coordsw --token "$tok1"
run 0 task claim --swarm coordsw -o json
tok2=$(sed 's/.*"token":\([0-9]*\),.*/\1/' "$OUT"); id2=$(sed 's/.*"id":"\([^"]*\)".*/\1/' "$OUT")
run 0 task fail "$id2" --swarm coordsw --token "$tok2" --no-retry
run 0 slo define coordsw --success 0.4 --availability 0.5 --window 1h
run 0 slo status coordsw -o json
out_has '"swarm":"coordsw","objective":"success","target":0.4,"measured":0.5,"met":true,"samples":2'

# Hostile samples: counted as refused, never fatal, never taken.
printf '{"v":1,"swarm":"bad","kind":"task","ts":1,"latency_ms":1,"ok":false' | "$SLOPUB" "nats://127.0.0.1:$IF_SERVER_PORT" raw if.v1.slo.sample.bad 2>/dev/null
printf '{"v":1,"swarm":"good","kind":"task","ts":%s000,"latency_ms":5000,"ok":false}' "$(date +%s)" |
	"$SLOPUB" "nats://127.0.0.1:$IF_SERVER_PORT" raw if.v1.slo.sample.bad 2>/dev/null
printf '{"v":1,"swarm":"good","kind":"task","ts":1000,"latency_ms":5,"ok":false}' |
	"$SLOPUB" "nats://127.0.0.1:$IF_SERVER_PORT" raw if.v1.slo.sample.good 2>/dev/null
run 0 slo sync -o json
conforms slo-sync
out_has '"added":0,"rejected":3,'
run 0 slo status good -o json
out_has '"objective":"success","target":0.99,"measured":1,"met":true,"samples":40'

# A rebuild from the stream gives the same figures.
"$IFCTL" slo status good -o json >"$T_DIR/before"
run 0 slo sync --rebuild -o json
out_has '"rejected":3,'
"$IFCTL" slo status good -o json >"$T_DIR/after"
check "cmp -s '$T_DIR/before' '$T_DIR/after'"

# A record another client wrote that is not an objective: skipped with a
# warning by list and status, refused by show; define replaces it.
printf '{"v":1,"swarm":"evil","success":7,"window_s":60}' >"$T_DIR/evil.json"
"$BUILD/tests/rawput" "nats://127.0.0.1:$IF_SERVER_PORT" kv IF_SLO_OBJECTIVES evil "$T_DIR/evil.json" >/dev/null
run 0 slo list
err_has '1 record in IF_SLO_OBJECTIVES is not a valid objective'
out_lacks evil
run 1 slo show evil
err_has 'invalid-record'
run 0 slo define evil --success 0.9 --new
run 0 slo show evil -o json
out_has '"swarm":"evil","p99_ms":null,"success":0.9'
run 7 slo define evil --success 0.5 --read-only

# The evaluator: one line per objective at the first evaluation, then only
# changes; the episodes of a new breach are recorded and witnessed.
{
	i=0; while [ $i -lt 10 ]; do echo "later task $((i * 1000 + 500)) 10 0"; i=$((i + 1)); done
} | pub
run 0 slo define later --success 0.9
run 0 slo watch --count 2 --interval 1
if "$SCHEMACHECK" -l schemas/slo-watch-line.schema.json <"$OUT" 2>"$T_DIR/schema.err"; then ok
else not_ok "slo watch: a line is not slo-watch-line: $(head -3 "$T_DIR/schema.err")"; fi
out_has '"objective":"success","reason":"success 0 < 0.9","swarm":"later","target":0.9,"type":"slo","verdict":"breach"'
out_has '"swarm":"good",.*"verdict":"ok"'
check '[ "$(grep -c "\"swarm\":\"later\"" "$OUT")" = 1 ]'
check '[ "$(episodes later)" = 1 ]'
run 0 witness query --event slo.violation.opened --swarm later -o jsonl
check '[ "$(grep -c slo.violation.opened "$OUT")" = 1 ]'
run 7 slo watch --count 1 --read-only

# rm: gone, witnessed.
run 0 slo rm ghost
run 3 slo show ghost
run 3 slo rm ghost
run 0 witness query --event slo.remove -o jsonl
out_has '"swarm":"ghost"'
# Availability's slots are the heartbeat interval of the swarm's profile:
# heartbeats every 60 s for 20 minutes fill every slot of a swarm whose
# profile says 60s, half of those of one that falls back to the config's 30 s.
run 0 swarm register --id slowbeat -c code-analysis:python --heartbeat-interval 60s -o json
out_has '"heartbeat_interval_ms":60000'
run 0 swarm register --id plainbeat -c code-analysis:python -o json
out_has '"heartbeat_interval_ms":null'
{
	i=0; while [ $i -lt 20 ]; do echo "slowbeat heartbeat $((i * 60000 + 1000))"; echo "plainbeat heartbeat $((i * 60000 + 1000))"; i=$((i + 1)); done
} | pub
run 0 slo define slowbeat --availability 0.9 --window 1h
run 0 slo define plainbeat --availability 0.9 --window 1h
run 0 slo status slowbeat -o json --why
out_has '"objective":"availability","target":0.9,"measured":1,"met":true'
out_has '"factor":"slots","value":"slowbeat","detail":"availability in heartbeat slots of 60000 ms'
run 4 slo status plainbeat -o json
out_has '"objective":"availability","target":0.9,"measured":0\.5[0-9]*,"met":false'

# 'swarm heartbeat' is an SLO heartbeat: an idle registered swarm that
# heartbeats is available; before it, there is no data.
run 0 swarm register --id idle -c code-analysis:go --heartbeat-interval 5000
run 0 slo define idle --availability 0.5 --window 1h
run 0 slo status idle
out_has 'idle +availability .* no data'
run 0 swarm heartbeat idle --why
out_has 'slo +if\.v1\.slo\.sample\.<swarm> +a heartbeat sample'
run 0 slo status idle -o json
out_has '"objective":"availability","target":0.5,"measured":1,"met":true,"samples":1'
run 8 swarm heartbeat nosuch --mode=falsify
out_has 'swarm is registered +fail'

# Bad heartbeat intervals: refused, nothing registered.
run 2 swarm register --id hb-bad -c code-analysis:go --heartbeat-interval 0s
err_has "\-\-heartbeat-interval: '0s' is not a duration"
run 2 swarm register --id hb-bad -c code-analysis:go --heartbeat-interval 1w
run 2 swarm register --id hb-bad -c code-analysis:go --heartbeat-interval 500
err_has '/heartbeat_interval_ms: 500 is below the minimum 1000'
run 8 swarm register --id hb-bad -c code-analysis:go --heartbeat-interval 500 --mode=falsify
out_has 'profile rule +fail +/heartbeat_interval_ms: 500 is below the minimum 1000'
run 2 swarm register --id hb-bad -c code-analysis:go --heartbeat-interval 2d
err_has '/heartbeat_interval_ms'
run 2 swarm register -f '{"id":"hb-bad","capabilities":["code-analysis:go"],"cost_per_hour_micros":0,"reputation":0.5,"model":"m","max_concurrent_tasks":1,"heartbeat_interval_ms":"30s"}'
err_has '/heartbeat_interval_ms'
run 3 swarm show hb-bad

# Standings: an evaluation leaves what the governor reads (standing.<swarm>).
run 0 slo status slowbeat
"$BUILD/tests/rawput" "nats://127.0.0.1:$IF_SERVER_PORT" get IF_SLO_EPISODES standing.slowbeat >"$OUT" 2>/dev/null
conforms slo-standing
out_has '"alert":"none","reputation_delta":0.05,"since":[0-9]+,"swarm":"slowbeat",.*"verdict":"ok"'
"$BUILD/tests/rawput" "nats://127.0.0.1:$IF_SERVER_PORT" get IF_SLO_EPISODES standing.plainbeat >"$OUT" 2>/dev/null
conforms slo-standing
out_has '"alert":"ticket","reputation_delta":-0.05,.*"swarm":"plainbeat",.*"verdict":"breach"'
run 4 slo status plainbeat --read-only
run 0 slo rm plainbeat
"$BUILD/tests/rawput" "nats://127.0.0.1:$IF_SERVER_PORT" get IF_SLO_EPISODES standing.plainbeat >"$OUT" 2>/dev/null
out_has '"alert":"none","reputation_delta":0,.*"verdict":"no-data"'
finish
