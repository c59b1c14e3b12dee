# Structured output against the JSON Schemas in schemas/: real commands, a
# real server, every -o json (and -o jsonl) output the commands give, typed.
. "$(dirname "$0")/lib.sh"
SCHEMACHECK=$BUILD/tests/schemacheck

# conforms SCHEMA [PATH]: stdout conforms to schemas/SCHEMA.schema.json (PATH: schemacheck's).
conforms() {
	if "$SCHEMACHECK" "schemas/$1.schema.json" ${2+"$2"} <"$OUT" 2>"$T_DIR/schema.err"; then ok
	else not_ok "$LAST: not $1${2+ at $2}: $(head -3 "$T_DIR/schema.err")"; fi
}
# lines_conform SCHEMA: every line of stdout conforms.
lines_conform() {
	if "$SCHEMACHECK" -l "schemas/$1.schema.json" <"$OUT" 2>"$T_DIR/schema.err"; then ok
	else not_ok "$LAST: a line is not $1: $(head -3 "$T_DIR/schema.err")"; fi
}
# refused SCHEMA JSON: the checker says JSON does not conform (it can fail).
refused() {
	if printf '%s' "$2" | "$SCHEMACHECK" "schemas/$1.schema.json" 2>/dev/null; then
		not_ok "schemacheck let through a bad $1: $2"
	else ok; fi
}

# Every schema is a schema the checker reads (an unknown keyword is an error).
for s in schemas/*.schema.json; do
	echo '{}' | "$SCHEMACHECK" "$s" >/dev/null 2>"$T_DIR/schema.err"
	if grep -q "schema:" "$T_DIR/schema.err"; then not_ok "$s: $(head -1 "$T_DIR/schema.err")"
	else ok; fi
done

# The checker finds what the old output had: numbers and lists as strings,
# missing and extra members, bad times, values out of an enum.
run 0 version -o json
conforms version
refused version '{"ifctl":"0.1.0"}'
refused version '{"ifctl":"0.1.0","nats_c":"3.4.1","cjson":"1","libyaml":"0","sqlite":"3","libsodium":"1","x":1}'
refused task-stats '{"tasks":"1","queued":1,"claimed":0,"done":0,"failed":0,"dead":0,"claims_per_s_60s":0,"lease_expiries":0,"invalid":0}'
refused doctor-check '{"check":"x","result":"maybe","status":"ok","evidence":null,"remedy":null}'
refused witness-trace '{"trace":{"trace":"t","entries":1,"duration_ms":0,"cost_micros":0,"tokens":0},"chain":[]}'
refused checkpoint '{"origin":"o","size":1.5,"root":"r","key_id":"k","note":"n"}'
refused why-item '{"factor":"f","value":"v","detail":"d","x":1}'
refused task '{"id":"x"'

run 0 help errors -o json
conforms error-item '[]'
run 0 config show -o json
conforms config-key '[]'
out_has '"key":"nats.timeout_ms","value":2000,'
out_has '"key":"witness.checkpoint_every","value":[0-9]+,'

# The server, its resources, the doctor.
run 0 up -o json
conforms up
out_has '"users":\[\]'
run 0 status -o json
conforms status
out_has '"jetstream":true'
run 0 doctor -o json
conforms doctor-check '[]'

# Tasks: each single record is the full record, typed.
run 0 task push s-1 -t first -c gpu,net --payload '{"n":1}' --budget 2.5 -k idem-1 -o json
conforms task
out_has '"attempts":0,'
out_has '"max_attempts":5,'
out_has '"capabilities":\["gpu","net"\]'
out_has '"budget":2.5,'
out_has '"idempotency_key":"idem-1"'
out_has '"history":\[\{"at":"[0-9T:.-]+Z","state":"queued"'
out_lacks '"attempts":"'
run 0 task push s-2 --to sw-2 --why=because -o json
conforms task task
conforms why-item 'why[]'
out_has '"capabilities":\[\]'
run 0 task claim --swarm sw-1 -c gpu,net -o json
conforms task
out_has '"state":"claimed"'
out_has '"token":[0-9]+,'
out_has '"lease_until":"[0-9T:.-]+Z"'
tok=$(sed 's/.*"token":\([0-9]*\),"attempts".*/\1/' "$OUT")
run 0 task heartbeat s-1 --swarm sw-1 --token "$tok" -o json
conforms task
run 0 task complete s-1 --swarm sw-1 --token "$tok" --result '{"ok":true}' -o json
conforms task
out_has '"result":\{"ok":true\}'
run 0 task claim --swarm sw-2 -o yaml
out_has '^attempts: 1$'
out_has '^capabilities: \[\]$'
out_has '^lease_until: [0-9T:.-]+Z$'
tok=$(sed -n 's/^token: //p' "$OUT")
run 0 task fail s-2 --swarm sw-2 --token "$tok" --reason broke -o json
conforms task
run 0 task show s-1 -o json
conforms task
run 0 task show s-1
out_has '^attempts: +1/5$'
out_has '^AT +STATE +BY +TOKEN +NOTE$'
run 0 task list -o json
conforms task-row '[]'
run 0 task list -o jsonl
lines_conform task-row
run 0 task list -o wide
out_has ' 1/5 .* gpu,net '
run 0 task stats -o json
conforms task-stats
run 0 task push s-3 --mode=falsify -o json
conforms check-item '[]'

# Witness: the entry appended, queries, a trace, the verdict, proofs, checkpoints.
run 0 witness append --component ops --event t.schema --task s-1 --cost-micros 7 --tokens 3 \
	--payload '{"k":[1,2]}' --trace=tr-schema -o json
conforms witness-entry
out_has '"cost_micros":7,"tokens":3,'
out_has '"v":2'
run 0 witness append --component ops --event t.schema2 --trace=tr-schema -o json
conforms witness-entry
run 0 witness query -o json
conforms witness-entry-row '[]'
run 0 witness query -o jsonl --component ops
lines_conform witness-entry-row
run 0 witness trace tr-schema -o json
conforms witness-trace
conforms witness-entry-row 'chain[]'
out_has '"entries":2,"duration_ms":[0-9]+,"cost_micros":7,"tokens":3'
run 0 witness verify -o json
conforms witness-verify
run 0 witness prove --inclusion 2 -o json
conforms witness-inclusion
out_has '"verified":true'
run 0 witness prove --consistency 2 -o json
conforms witness-consistency
run 0 witness checkpoint -o json
conforms checkpoint
run 0 witness checkpoints -o json
conforms checkpoint-row '[]'
run 0 index rebuild -o json
conforms index-rebuild

# Cost and optimise: records, budgets, reports, history, prices, suggestions.
run 0 cost allocate sch 5 -o json
conforms budget-row
run 0 optimise record --swarm sch --provider openai --model gpt-4o --tokens-in 10 -o json
conforms usage
run 0 cost budget -o json
conforms budget-row '[]'
run 0 cost report -o json
conforms cost-report-row '[]'
run 0 cost report -o jsonl --by model
lines_conform cost-report-row
run 0 cost history -o json
conforms cost-history-row '[]'
run 0 optimise prices -o json
conforms price-row '[]'
run 0 optimise suggest -o json --swarms fixtures/cost/swarms.json
conforms suggestion-row '[]'
run 0 optimise settle -o json
conforms cost-settle
run 0 cost sync --rebuild -o json
conforms cost-sync
out_has '"added":1,'
for f in fixtures/cost/usage-*.json; do
	sed 's/AT/1796000000000/' "$f" >"$OUT"
	conforms usage-record
done
refused usage-record '{"v":1,"id":"a","swarm":"s","provider":"p","model":"m","at":1,"tokens_in":-5}'
refused usage-record '{"v":1,"id":"a","swarm":"s","provider":"p","model":"m","at":1,"colour":1}'
refused budget-record '{"v":1,"swarm":"s","allocated_micros":1.5,"reserved_micros":0,"spent_micros":0}'
refused budget-row '{"key":"swarm.s"}'

# Offline verification of a fixture: the same verdict record.
run 0 witness verify -f fixtures/witness/good.jsonl --key @fixtures/witness/key.vkey -o json
conforms witness-verify
run 5 witness verify -f fixtures/witness/edited.jsonl --key @fixtures/witness/key.vkey -o json
conforms witness-verify
out_has '"result":"failed","entries":[0-9]+,"checkpoints":[0-9]+,"fault":"edited","at":12,'

# The governor: registry, policies, swarms, matches, help, violations, spawn.
run 0 capabilities list -o json
conforms capability-row '[]'
run 0 policy show --policy fixtures/policies/good.yaml -o json
conforms policy-rule-row '[]'
run 2 policy validate fixtures/policies/bad-range.yaml -o json
conforms policy-problem-row '[]'
run 0 governor error-types -o json
conforms error-type-row '[]'
run 0 swarm register -f @fixtures/swarms/profiles/good.json -o json
conforms swarm-row
run 0 swarm spawn gen-c --dir fixtures/swarms/c --why -o json
conforms swarm-spawn
conforms swarm-row swarm
conforms detect-row 'detected[]'
conforms why-item 'why[]'
run 0 swarm list -o json
conforms swarm-row '[]'
run 0 swarm list -o jsonl
lines_conform swarm-row
run 0 governor match -c integration:sip,code-analysis:general --all -o json
conforms match-row '[]'
run 0 governor request-help --blocked gen-c -c integration:sip,infra:kubernetes -o json
conforms help-row '[]'
run 4 policy check --swarm sip-expert,sip-expert -o json
conforms violation-row '[]'
run 0 policy violations -o json
conforms violation-row '[]'
refused match-row '{"rank":"1","swarm":"a","score":1,"coverage":1,"matched":1,"capability_score":1,"reputation_score":0,"cost_score":0,"cost_per_hour":"0.00","budget_left":null,"status":"qualified","detail":null}'
refused swarm-row '{"id":"a"}'

# What ifctl writes on the server, read back as another client reads it
# (ifctl-protocol(7)): every kind of record, against its schema.
RAW=$BUILD/tests/rawput
URL="nats://127.0.0.1:$IF_SERVER_PORT"
# stored SCHEMA[#DEF] get BUCKET KEY | last STREAM SUBJECT
stored() {
	sch=$1; shift
	LAST="stored $*"
	"$RAW" "$URL" "$@" >"$OUT" 2>"$ERR" && ok || not_ok "$LAST: cannot read it"
	if "$SCHEMACHECK" "schemas/$sch" <"$OUT" 2>"$T_DIR/schema.err"; then ok
	else not_ok "$LAST: not $sch: $(head -3 "$T_DIR/schema.err")"; fi
}
run 0 governor trip gen-c --reason schema-check
run 0 slo define gen-c --p99-ms 500 --success 0.99 --availability 0.9
run 0 cred issue --swarm gen-c --ttl 5m --allow 'https://api.example.com/*' -o json
cred=$(jq -r .id "$OUT")
run 0 cred rotate "$cred"
stored 'swarm-profile.schema.json#/$defs/record' get IF_SWARMS gen-c
stored 'swarm-profile.schema.json#/$defs/state' get IF_SWARMS state.gen-c
stored budget-record.schema.json get IF_BUDGETS swarm.sch
stored budget-record.schema.json get IF_BUDGETS swarm.gen-c
stored usage-record.schema.json last IF_COST if.v1.cost.settled.sch
stored slo-objective.schema.json get IF_SLO_OBJECTIVES gen-c
stored cred-record.schema.json get IF_CREDS "$cred"
# an SLO breach: samples as a swarm publishes them, the episode status opens
printf 'gen-c task 1000 100 0\ngen-c task 900 100 0\ngen-c task 800 100 1\n' |
	"$BUILD/tests/slopub" "$URL" pub 2>"$ERR" && ok || not_ok "slopub: $(cat "$ERR")"
stored slo-sample.schema.json last IF_SLO if.v1.slo.sample.gen-c
run 4 slo status gen-c
stored slo-violation.schema.json get IF_SLO_EPISODES cur.success.gen-c

run 0 down -o json
conforms down
finish
