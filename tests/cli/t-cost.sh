# ifctl cost and ifctl optimise against a real server: usage reported over the
# protocol, settled, priced and reported; figures worked out by hand in
# fixtures/cost/ (see the comments there); budgets, thresholds, bad input.
. "$(dirname "$0")/lib.sh"
RAWPUT=$BUILD/tests/rawput
FIX=$(cd "$(dirname "$0")/../../fixtures/cost" && pwd)
export IF_COST_PRICES="$FIX/prices.yaml"

run 0 up -q
URL="nats://127.0.0.1:$IF_SERVER_PORT"
AT=$(( $(date +%s) * 1000 - 120000 ))

# publish SUBJECT FIXTURE: the fixture with its time, as a swarm would publish it.
publish() {
	sed "s/AT/$AT/" "$FIX/$2" >"$T_DIR/msg.json"
	"$RAWPUT" "$URL" pub "$1" "$T_DIR/msg.json" >/dev/null 2>&1 || not_ok "rawput $1 $2"
}

# The price table: defaults, the file over them, bad tables refused.
run 0 optimise prices -o json
out_has '"model":"alpha","provider":"test","tier":"t1","input_usd_per_mtok":1.00,"output_usd_per_mtok":2.00,"cached_usd_per_mtok":0.25,"hourly_usd":0.00'
out_has '"model":"gpt-4o","provider":"openai"'
run 0 optimise prices --defaults
out_has '^models:'
run 2 optimise prices --prices "$FIX/bad-prices.yaml"
err_is_one_error
err_has "output: '-2.00' is not an amount"
run 2 optimise prices --prices "$FIX/bad-prices-syntax.yaml"
err_has 'price table'
run 2 optimise prices --prices "$FIX/bad-prices-field.yaml"
err_has "unknown field 'discount'"
run 3 optimise prices --prices "$FIX/nonexistent.yaml"

# Swarms the fleet knows: sa and sb by their budgets, sc by a profile.
run 0 cost allocate sa 1.00
run 0 cost allocate sb --budget 12.50 -o json
out_has '"allocated_usd":12.50,.*"allocated_micros":12500000'
printf '{"id":"sc","capabilities":["chat"]}' >"$T_DIR/sc.json"
"$RAWPUT" "$URL" kv IF_SWARMS sc "$T_DIR/sc.json" >/dev/null 2>&1

# Four traces over the protocol, and bad messages that must be refused.
for f in usage-a1 usage-a2 usage-c1; do publish if.v1.cost.usage.sa $f.json; done
for f in usage-b1 usage-b2; do publish if.v1.cost.usage.sb $f.json; done
publish if.v1.cost.usage.sc usage-d1.json
for f in bad-negative bad-unpriced bad-priced-by-swarm bad-truncated; do
	publish if.v1.cost.usage.sa $f.json
done
publish if.v1.cost.usage.nobody bad-unknown-swarm.json
publish if.v1.cost.usage.sb usage-a1.json	# the subject names another swarm
run 0 optimise settle -o json
out_has '"settled":6,"refused":6,'
# Again: nothing new, nothing settled twice.
run 0 optimise settle -o json
out_has '"settled":0,"refused":0,'
run 0 witness query --event cost.refused -o json
check "[ \$(grep -o '\"event\":\"cost.refused\"' '$OUT' | wc -l) -eq 6 ]"
out_has 'tokens_in.*is out of range|-5'
out_has "unknown swarm 'nobody'"
out_has "model 'acme/unknown' is not in the price table"

# Reports, recomputed by hand (fixtures/cost/*.json).
run 0 cost report -o json
out_has '"key":"sa","records":3,"tokens_in":4000,"tokens_out":1500,"tokens_cached":4000,"cost_usd":0.068,'
out_has '"key":"sb","records":2,"tokens_in":10333,"tokens_out":2000,"tokens_cached":0,"cost_usd":0.007167,'
out_has '"key":"sc","records":1,.*"cost_usd":0.002,'
run 0 cost report
out_has '^TOTAL +6 +14583 +3625 +4000 +0.077167 +100.0'
run 0 cost report --by model -o json
out_has '"key":"test/gpu","records":1,.*"cost_micros":60000'
out_has '"key":"test/alpha","records":2,.*"cost_micros":8000'
out_has '"key":"test/beta","records":2,.*"cost_micros":7167'
out_has '"key":"acme/x1","records":1,.*"cost_micros":2000'
run 0 cost report --by provider -o json
out_has '"key":"test","records":5,.*"cost_micros":75167'
run 0 cost report --by task -o json
out_has '"key":"ta1","records":2,.*"cost_micros":8000'
run 0 cost report --by operation --swarm sa -o json
out_has '"key":"plan","records":1,.*"cost_micros":60000'
run 0 cost budget sa -o json
out_has '"spent_usd":0.068,.*"spent_micros":68000'
run 0 cost history -o json
out_has '"records":6,"tokens_in":14583,"tokens_out":3625,"tokens_cached":4000,"cost_usd":0.077167'

# The settler under --mode=falsify: every usage message a check, nothing written.
run 8 optimise settle --mode=falsify
out_has 'usage message [0-9]+ parses and is priced +fail +.*unknown swarm'
out_has 'usage message [0-9]+ parses and is priced +pass'
run 0 cost budget sa -o json
out_has '"spent_micros":68000,'

# CSV parsed back (RFC 4180) equals the JSON.
run 0 cost report --by model --csv
node "$(dirname "$0")/csv-parse.js" <"$OUT" >"$T_DIR/csv.json" 2>"$ERR" || not_ok "csv does not parse"
"$IFCTL" cost report --by model --no-sync -o json >"$T_DIR/json.json"
check "node -e 'const c=require(\"$T_DIR/csv.json\"),j=require(\"$T_DIR/json.json\");
  process.exit(c.length===4&&c.length===j.length&&c.every((r,i)=>r.key===j[i].key&&
    Number(r.records)===j[i].records&&Number(r.cost_micros)===j[i].cost_micros&&
    Math.round(Number(r.cost_usd)*1e6)===j[i].cost_micros)?0:1)'"
check "head -1 '$OUT' | tr '\\r' @ | grep -q '^by,key,records,tokens_in,tokens_out,tokens_cached,cost_usd,share_pct,cost_micros@\$'"

# Suggestions: beta for alpha (same tier, every capability), a cheaper swarm for sa.
run 0 optimise suggest --swarms "$FIX/swarms.json" -o json --why
out_has '"kind":"model","current":"test/alpha","suggested":"test/beta","records":2,"cost_usd":0.008,"suggested_cost_usd":0.0039,"saving_usd":0.0041,"saving_pct":51.2'
out_has '"kind":"swarm","current":"sa","suggested":"cheap","records":3,"cost_usd":0.10,"suggested_cost_usd":0.04,"saving_usd":0.06,"saving_pct":60.0'
out_lacks '"current":"sb"'
out_lacks 'cheaper-but-weak'
err_has '1 swarm profile could not be read'

# Suggestions from the governor's registry: a cheaper swarm with every
# capability and no lower reputation; the governor's filters leave out a
# swarm whose breaker is open, a retired one and one without budget left.
run 0 swarm register --id auto-pricey -c cli:automation --cost-per-hour 4 --reputation 0.6
run 0 swarm register --id auto-cheap -c cli:automation,cli:testing --cost-per-hour 1 --reputation 0.8
run 0 swarm register --id auto-tripped -c cli:automation --cost-per-hour 0.20 --reputation 0.9
run 0 swarm register --id auto-retired -c cli:automation --cost-per-hour 0.10 --reputation 0.95
run 0 swarm register --id auto-broke -c cli:automation --cost-per-hour 0.30 --reputation 0.9
run 0 swarm register --id auto-weak -c cli:automation --cost-per-hour 0.05 --reputation 0.3
run 0 governor trip auto-tripped --reason flaky
run 0 swarm retire auto-retired
run 0 cost allocate auto-broke 0
run 0 optimise record --swarm auto-pricey --provider acme --model own --price-in 1.00 --tokens-in 10 --duration-ms 1800000
run 0 optimise record --swarm auto-pricey --provider acme --model own --price-in 1.00 --tokens-in 10 --duration-ms 1800000
run 0 optimise suggest --kind swarm --why -o json
out_has '"kind":"swarm","current":"auto-pricey","suggested":"auto-cheap","records":2,"cost_usd":4.00,"suggested_cost_usd":1.00,"saving_usd":3.00,"saving_pct":75.0'
out_has '"factor":"auto-pricey","value":"auto-tripped","detail":"cheaper .* left out: breaker-open"'
out_has '"factor":"auto-pricey","value":"auto-retired","detail":"cheaper .* left out: retired"'
out_has '"factor":"auto-pricey","value":"auto-broke","detail":"cheaper .* left out: budget-exhausted"'
out_lacks '"suggested":"auto-(weak|tripped|retired|broke)"'
out_has '"factor":"sa","value":"no profile"'
err_has '1 swarm profile could not be read'
run 0 governor reset auto-tripped
run 0 optimise suggest --kind swarm --no-sync -o json
out_has '"current":"auto-pricey","suggested":"auto-tripped",.*"saving_usd":3.80'
run 2 optimise suggest --kind swarms
run 2 optimise suggest --min-reputation 101

# Budgets: one event per threshold crossed, exhaustion, refusal.
run 0 cost allocate thr 0.001
for n in 500 250 150 100 50; do
	run 0 optimise record --swarm thr --provider acme --model own --price-in 1.00 --tokens-in $n
done
run 0 witness query --event budget.threshold --swarm thr -o json
check "[ \$(grep -o '\"event\":\"budget.threshold\"' '$OUT' | wc -l) -eq 5 ]"
out_has '"pct":50'
out_has '"pct":75'
out_has '"pct":90'
out_has '"pct":100'
run 0 witness query --event budget.exhausted --swarm thr -o json
check "[ \$(grep -o '\"event\":\"budget.exhausted\"' '$OUT' | wc -l) -eq 1 ]"
run 0 cost budget thr -o json
out_has '"spent_micros":1050,'
# The policy's budget_warning_threshold is one of the crossings: 0.6 here.
sed 's/budget_warning_threshold: 0.8/budget_warning_threshold: 0.6/' \
	"$FIX/../policies/good.yaml" >"$T_DIR/policy.yaml"
run 0 cost allocate warn 0.001
IF_GOVERNOR_POLICY="$T_DIR/policy.yaml" run 0 optimise record --swarm warn --provider acme --model own --price-in 1.00 --tokens-in 650
run 0 witness query --event budget.threshold --swarm warn -o json
out_has '"pct":60'
out_lacks '"pct":80'
printf 'version: [' >"$T_DIR/bad-policy.yaml"
IF_GOVERNOR_POLICY="$T_DIR/bad-policy.yaml" run 0 cost settle warn 0.0001
err_has "warning: the policy's built-in defaults are in force"
run 0 witness query --event budget.threshold --swarm warn -o json
out_has '"pct":75'
run 4 cost reserve thr 0.01
err_has "cannot reserve 0.01 USD from budget 'swarm.thr'"
run 0 cost allocate thr 1
run 0 cost reserve thr 0.25 -o json
out_has '"reserved_micros":250000'
run 0 cost settle thr 0.10 --held 0.25 -o json
out_has '"reserved_micros":0,"spent_micros":101050'
run 0 cost reserve thr 0.5
run 0 cost release thr 0.5 -o json
out_has '"reserved_micros":0,'

# Processes race through the compare-and-swap: 6 spenders, 4 rounds each of
# reserve 0.30 and settle 0.25 against 3.00; every grant is settled, none overdraws.
run 0 cost allocate par 3
for p in 1 2 3 4 5 6; do
	( for r in 1 2 3 4; do
		if "$IFCTL" cost reserve par 0.30 -q >/dev/null 2>&1; then
			"$IFCTL" cost settle par 0.25 --held 0.30 -q >/dev/null 2>&1 && echo settled
		fi
	  done ) >"$T_DIR/par.$p" &
done
wait
granted=$(cat "$T_DIR"/par.* | grep -c settled)
run 0 cost budget par -o json
check "[ $granted -ge 10 ] && [ $granted -le 24 ]"
out_has "\"reserved_micros\":0,\"spent_micros\":$((granted * 250000)),"

# Bad input: clear errors, nothing recorded.
"$IFCTL" cost report --by model --no-sync -o json >"$T_DIR/before"
run 2 optimise record --swarm sa --provider test --model alpha --tokens-in -5
err_is_one_error
run 3 optimise record --swarm nobody --provider test --model alpha --tokens-in 5
err_has "unknown swarm 'nobody'"
run 2 optimise record --swarm sa --provider acme --model nope --tokens-in 5
err_has "not in the price table"
run 2 optimise record --swarm sa --provider test --model alpha --prices "$FIX/bad-prices.yaml"
run 2 cost report --period yesterday
err_is_one_error
err_has "'yesterday' is not a period"
run 2 cost report --period 2026-11-30T00:00:00Z..2026-11-29T00:00:00Z
run 2 cost report --by colour
run 2 cost allocate sa -- -3
run 2 cost allocate sa 1.0000001
err_has 'more than six decimal places'
run 2 cost allocate sa 12,50
"$IFCTL" cost report --by model -o json >"$T_DIR/after"
check "cmp -s '$T_DIR/before' '$T_DIR/after'"
run 0 cost report --period 2026-01-01T00:00:00Z.. -o json
out_has '"key":"sa"'

# --mode=falsify on a budget change: the running tasks that would be refused.
run 0 task push tf1 --budget 0.40 --to sw
run 0 task push tf2 --budget 0.30 --to sw
run 0 task claim --swarm sw
run 0 task claim --swarm sw
run 0 cost allocate sw 1.00
run 8 cost allocate sw 0.50 --mode=falsify
out_has "running task 'tf1' can still be funded +pass"
out_has "running task 'tf2' can still be funded +fail +needs 300000 micro-USD, 100000 left"
run 0 cost budget sw -o json
out_has '"allocated_micros":1000000'
run 0 cost allocate sw 0.70 --mode=falsify
run 7 cost allocate sw 2 --read-only

finish
