# The governor against a real local server: capabilities, swarm profiles,
# policies, matching, help for blockers, assignment checks, the circuit
# breaker, the coordinator's hooks, spawn.
. "$(dirname "$0")/lib.sh"
P=fixtures/policies
S=fixtures/swarms

# Registry: no server needed.
run 0 capabilities list -o json
out_has '"name":"integration:ndi","category":"integration","source":"built-in"'
check "[ \$(grep -o '\"name\"' '$OUT' | wc -l) -ge 29 ]"
run 0 capabilities list --category docs
out_has 'docs:api-design'
out_lacks 'integration:'
run 0 capabilities list --category site
out_has '^gpu +site +governor.capabilities'
run 2 capabilities check integration:sip streaming:ndi
err_is_one_error
err_has '"streaming:ndi" is not a known capability \(did you mean "integration:ndi"\?\)'

# Policies: every fixture mistake with its line; the good one shown.
run 0 policy validate $P/good.yaml
run 2 policy validate $P/bad-range.yaml
out_has 'bad-range.yaml:4: /profiles/default/max_swarms_per_task: 0 is below the minimum 1 \(minimum\)'
out_has 'bad-range.yaml:5: /profiles/default/min_capability_match: 1.5 is above the maximum 1 \(maximum\)'
run 2 policy validate $P/bad-weights.yaml
err_has 'bad-weights.yaml:5: .*sum to 1.5, not 1'
run 2 policy validate $P/bad-syntax.yaml
err_has 'bad-syntax.yaml: line 4'
err_has '\[bad-yaml\]'
run 2 policy validate $P/bad-capability.yaml
err_has 'did you mean "integration:ndi"'
run 3 policy validate $P/nope.yaml
run 8 policy validate $P/bad-key.yaml --mode=falsify
out_has 'max_swarm_per_task: is not an allowed member'
run 0 policy show --policy $P/good.yaml --profile production -o json
out_has '"scope":"profile production","rule":"min_capability_match","value":"0.75","in_force":true'
out_has '"scope":"capability integration:sip","rule":"max_cost_per_task","value":"20.00"'
run 3 policy show --policy $P/good.yaml --profile staging
err_has "no profile 'staging' \(profiles: default, development, production\)"
run 0 policy show -o json
out_has '"scope":"profile default","rule":"max_cost_per_task","value":"10.00","in_force":true'

run 0 up -q

# Profiles: schema and registry errors name the pointer, nothing is stored.
run 2 swarm register -f @$S/profiles/bad-capability.json
err_is_one_error
err_has '/capabilities/2: "streaming:ndi" is not a known capability \(did you mean "integration:ndi"\?\)'
run 2 swarm register -f @$S/profiles/bad-id.json
err_has '/id: "Bad_ID" does not match'
run 2 swarm register -f @$S/profiles/bad-range.json
err_has 'and 2 more'
run 2 swarm register -f @$S/profiles/bad-extra.json
err_has '/colour: is not an allowed member'
run 8 swarm register -f @$S/profiles/bad-missing.json --mode=falsify
out_has 'member "cost_per_hour_micros" is missing'
run 0 swarm list -o json
out_has '^\[\]$'

# The four-swarm fleet.
run 0 swarm register -f @$S/profiles/good.json -o json
out_has '"id":"sip-expert","status":"active","breaker":"closed"'
out_has '"cost_per_hour":"2.00"'
run 1 swarm register -f @$S/profiles/good.json
err_has 'already registered'
run 0 swarm register --id ndi-bridge -c integration:ndi,integration:rtsp --cost-per-hour 1.5 --reputation 0.9
run 0 swarm register --id generalist -c code-analysis:python -c code-analysis:rust,integration:sip --cost-per-hour 0.50 --reputation 0.7
run 0 swarm register --id docs -c docs:technical-writing --reputation 0.8
run 2 swarm register --id x -c integration:sip --cost-per-hour 1.2345678
err_has 'more than six decimal places'
run 0 swarm list -o json
out_has '"id":"docs".*"id":"generalist".*"id":"ndi-bridge".*"id":"sip-expert"'
run 0 swarm show sip-expert --why
out_has 'budget +none'
run 3 swarm show nobody
err_has "swarm 'nobody' is not registered"

# Records another client wrote: malformed ones are listed as invalid and never matched.
URL="nats://127.0.0.1:$IF_SERVER_PORT"
printf '{"v":1,"profile":{"id":"evil","capabilities":["integration:sip"],"cost_per_hour_micros":0,"reputation":7,"model":"m","max_concurrent_tasks":1},"registered_at":1}' >"$T_DIR/r1"
printf 'not json' >"$T_DIR/r2"
printf '{"v":1,"swarm":"docs","retired":"no","breaker":"closed","failures":0,"updated_at":1}' >"$T_DIR/r3"
"$BUILD/tests/rawput" "$URL" kv IF_SWARMS evil "$T_DIR/r1" >/dev/null && ok || not_ok "rawput evil"
"$BUILD/tests/rawput" "$URL" kv IF_SWARMS junk "$T_DIR/r2" >/dev/null && ok || not_ok "rawput junk"
"$BUILD/tests/rawput" "$URL" kv IF_SWARMS state.docs "$T_DIR/r3" >/dev/null && ok || not_ok "rawput state"
run 0 swarm list -o json
out_has '"id":"evil","status":"invalid".*"reason":"record: /profile/reputation: 7 is above the maximum 1 \(maximum\)"'
out_has '"id":"junk","status":"invalid"'
out_has '"id":"state.docs","status":"invalid".*/retired: \\"no\\" is not of type boolean'
err_has '3 records in IF_SWARMS are invalid'
run 0 swarm show docs -o json
out_has '"status":"state-invalid"'
run 1 task claim --swarm evil -c integration:sip
err_has "swarm 'evil'.*reputation"
run 0 governor reset docs
run 0 swarm show docs -o json
out_has '"status":"active"'
run 1 swarm show evil
run 1 swarm show junk
err_has "swarm 'junk'.*invalid JSON"
err_has '\[invalid-record\]'

# Matching: perfect, partial 2/3, none, below threshold; --why shows every candidate.
run 0 governor match -c integration:sip,integration:webrtc,integration:h323 -o json
out_has '^\[\{"rank":1,"swarm":"sip-expert","score":0.945,"coverage":1,'
run 0 governor match -c integration:sip,integration:webrtc,integration:ndi --all --why -o json --trace=aaaabbbbccccddddeeeeffff00001111
out_has '"swarm":"sip-expert","score":0.778333,"coverage":0.666667,"matched":2'
out_has '"swarm":"ndi-bridge".*"status":"below-min-match"'
out_has '"factor":"docs","value":"no-capability-match"'
out_has '"factor":"weights".*0.5 \* coverage \+ 0.3 \* reputation \+ 0.2 \* cost_score'
run 0 witness trace aaaabbbbccccddddeeeeffff00001111 -o json
out_has '"event":"governor.match"'
out_has 'best sip-expert, score 0.7783'
run 3 governor match -c infra:kubernetes
err_has 'no registered swarm has any of the capabilities'
run 4 governor match -c integration:sip,integration:webrtc,integration:ndi,integration:rtsp --policy $P/good.yaml --profile production
err_has "nearest 'sip-expert' is excluded by below-min-match \(matches 2/4 = 0.5, below min_capability_match 0.75\)"
run 8 governor match -c infra:kubernetes --mode=falsify
out_has 'a swarm qualifies +fail'
run 2 governor match -c streaming:ndi
err_has 'did you mean "integration:ndi"'

# The coordinator's hooks: push checks names; a registered swarm claims with its profile.
run 2 task push -c streaming:ndi
err_has '\-\-capability: "streaming:ndi" is not a known capability \(did you mean "integration:ndi"\?\)'
run 0 task push t-sip -c integration:sip
run 4 task claim --swarm generalist -c integration:ndi
err_has "is not in swarm 'generalist''s profile"
run 0 task claim --swarm generalist -o json
out_has '"id":"t-sip","state":"claimed"'
tok=$(sed 's/.*"token":\([0-9]*\).*/\1/' "$OUT")
run 0 swarm show generalist -o json
out_has '"last_seen":"[0-9T:.-]+Z"'
run 0 task fail t-sip --swarm generalist --token "$tok" --reason boom
run 0 swarm show generalist -o json
out_has '"failures":1'

# The breaker: consecutive failures open it; a claim is refused, witnessed; reset closes it.
run 0 governor outcome generalist --failure
run 0 governor outcome generalist --failure -o json
out_has '"status":"breaker-open","breaker":"open"'
out_has '"reason":"3 consecutive failures \(threshold 3\)"'
run 4 task claim --swarm generalist --trace=00001111222233334444555566667777
err_has "circuit breaker open \(3 consecutive failures"
run 0 witness trace 00001111222233334444555566667777 -o json
out_has '"event":"governor.refuse"'
run 0 governor match -c integration:sip --all -o json
out_has '"swarm":"generalist".*"status":"breaker-open"'
run 2 governor reset generalist --budget 1.2345678
run 0 governor reset generalist --budget 5 -o json
out_has '"status":"active","breaker":"closed"'
run 0 swarm show generalist --why
out_has 'budget +5.00'
run 0 governor trip ndi-bridge --reason "bad output"
run 0 swarm list --status breaker-open -o json
out_has '"id":"ndi-bridge"'
run 0 governor reset ndi-bridge

# Help for a blocked swarm: one helper per capability, escalation for the rest.
run 0 governor request-help --blocked generalist -c integration:sip,integration:ndi,infra:kubernetes -o json
out_has '"capability":"integration:sip","helper":"sip-expert","task":"t-[0-9a-f]+"'
out_has '"capability":"integration:ndi","helper":"ndi-bridge"'
out_has '"capability":"infra:kubernetes","helper":null,"task":null,"score":null,"reason":"no other registered swarm has it"'
run 0 task list --swarm sip-expert -o json
run 0 task list -o json
out_has '"title":"help .generalist. with integration:sip".*"to":"sip-expert"'
run 0 governor request-help --blocked ndi-bridge -c integration:sip,integration:webrtc -o json
out_has '"capability":"integration:sip","helper":"sip-expert","task":"(t-[0-9a-f]+)".*"capability":"integration:webrtc","helper":"sip-expert"'
t1=$(sed 's/.*"integration:sip","helper":"sip-expert","task":"\(t-[0-9a-f]*\)".*/\1/' "$OUT")
run 0 task show "$t1" -o json
out_has '"capabilities":\["integration:sip","integration:webrtc"\]'
out_has '"payload":\{"blocked":"ndi-bridge","capabilities":\["integration:sip","integration:webrtc"\]'
run 3 governor trip ghost --reason x
run 4 governor request-help --blocked sip-expert --error-type deployment
err_has "no swarm can help 'sip-expert'"
run 2 governor request-help --blocked generalist --error-type nope
run 2 governor request-help --blocked generalist
run 3 governor request-help --blocked ghost -c integration:sip
run 0 governor error-types -o json
out_has '"type":"media-stream","capabilities":\["integration:ndi","integration:rtsp","integration:webrtc"\]'

# Assignment checks: violations refused, recorded and listed.
run 4 policy check --swarm sip-expert,sip-expert,docs,ndi-bridge --task t-9
err_has 'assignment breaks 2 rules'
run 0 policy check --swarm sip-expert,docs --task t-10
run 8 policy check --swarm ghost --mode=falsify
out_has 'every swarm is registered +fail'
run 0 policy check --swarm docs --cost 11 --policy $P/good.yaml --profile development
err_has '1 violation, not enforced'
run 0 policy violations -o json
out_has '"type":"duplicate-swarm","swarms":\["sip-expert","sip-expert","docs","ndi-bridge"\],"task":"t-9","enforced":true'
out_has '"type":"too-many-swarms"'
out_has '"type":"over-cost-cap".*"enforced":false'
run 0 policy violations --type too-many-swarms --limit 1 -o json
out_lacks 'duplicate-swarm'

# Retirement: no more claims.
run 0 swarm retire docs -o json
out_has '"status":"retired"'
run 0 task push t-doc -c docs:technical-writing
run 4 task claim --swarm docs
err_has "swarm 'docs' is retired"
run 8 task claim --swarm docs --mode=falsify
out_has 'swarm is not retired +fail'
run 0 swarm heartbeat sip-expert -o json
out_has '"last_seen":"[0-9T:.-]+Z"'

# Spawn: detection with evidence, registration, a budget; one trace.
run 0 swarm spawn py-probe --dir $S/python --budget 7.5 --why -o json --trace=99998888777766665555444433332222
out_has '"id":"py-probe","status":"active"'
out_has '"capability":"integration:sip","source":"protocol","evidence":"src/app.py: keyword .SIP/2.0."'
out_has '"factor":"budget","value":"7.50"'
run 0 witness trace 99998888777766665555444433332222 -o json
out_has '"event":"swarm.spawn"'
out_has '"event":"swarm.register"'
run 0 swarm spawn wasm-gw --dir $S/wasm
run 0 swarm show wasm-gw -o json
out_has '"capabilities":\["integration:rtsp","integration:sip","integration:webrtc"\]'
run 0 swarm spawn sip-manifest --dir $S/manifest --policy $P/good.yaml -o json --why
out_has '"model":"claude-sonnet"'
out_has '"factor":"budget","value":"25.00"'
run 1 swarm spawn py-probe --dir $S/python
err_has 'already registered'
for bad in empty bad-manifest-json bad-manifest-schema bad-manifest-capability bad-wasm nope; do
	code=2; [ $bad = nope ] && code=3; [ $bad = bad-manifest-json ] && code=2
	run $code swarm spawn "half-$bad" --dir "$S/$bad"
	err_is_one_error
done
run 3 swarm show half-empty
run 3 swarm show half-bad-wasm
mkdir -p "$T_DIR/locked" && chmod 000 "$T_DIR/locked"
if [ "$(id -u)" != 0 ]; then run 7 swarm spawn locked --dir "$T_DIR/locked"; fi
run 8 swarm spawn half-empty --dir $S/empty --mode=falsify
out_has 'at least one capability +fail'
run 0 swarm spawn dry --dir $S/go --mode=falsify
run 3 swarm show dry
run 7 swarm spawn ro --dir $S/go --read-only

# Budgets: the cost code's one record. Spawn's budget is budget_allocate's;
# a settle that exhausts a swarm's budget opens its breaker (a claim is
# refused, witnessed); reset --budget closes it and allocates from now.
run 0 cost budget py-probe -o json
out_has '"allocated_micros":7500000,"reserved_micros":0,"spent_micros":0'
run 0 swarm register --id spender -c cli:automation --cost-per-hour 0.10 --reputation 0.5
run 0 cost allocate spender 0.001
run 0 task push t-spend -c cli:automation --budget 0.000500
run 2 task push t-bad -c cli:automation --budget 1e3
err_has "'1e3' is not an amount of USD"
run 2 task push t-bad -c cli:automation --budget 0.0000001
err_has 'more than six decimal places'
run 0 optimise record --swarm spender --provider acme --model own --price-in 1.00 --tokens-in 850 --trace=11112222333344445555666677778888
run 0 witness trace 11112222333344445555666677778888 -o json
out_has '"payload":\{"key":"swarm.spender","pct":80\}'
out_lacks '"event":"breaker.open"'
run 0 swarm show spender -o json
out_has '"breaker":"closed"'
run 0 optimise record --swarm spender --provider acme --model own --price-in 1.00 --tokens-in 200 --trace=22223333444455556666777788889999
run 0 witness trace 22223333444455556666777788889999 -o json
out_has '"event":"budget.exhausted"'
out_has '"event":"breaker.open"'
run 0 swarm show spender -o json
out_has '"status":"breaker-open","breaker":"open"'
out_has '"reason":"budget exhausted: spent 0.00105 of 0.001 USD"'
run 4 task claim --swarm spender --trace=33334444555566667777888899990000
err_has "circuit breaker open \(budget exhausted"
run 0 witness trace 33334444555566667777888899990000 -o json
out_has '"event":"governor.refuse"'
run 0 cost allocate spender 0.01
err_has "circuit breaker is open .*'ifctl governor reset spender --budget USD'"
run 8 cost allocate spender 0.02 --mode=falsify
out_has 'swarm may claim after the change +fail'
run 0 governor reset spender --budget 2 -o json
out_has '"status":"active","breaker":"closed"'
run 0 cost budget spender -o json
out_has '"allocated_micros":2001050,"reserved_micros":0,"spent_micros":1050,.*"remaining_micros":2000000'
run 0 task claim --swarm spender -o json
out_has '"id":"t-spend","state":"claimed"'
# --mode=falsify on reset --budget: the running tasks the new budget could not fund.
run 8 governor reset spender --budget 0.0001 --mode=falsify
out_has "running task 't-spend' can still be funded +fail +needs 500 micro-USD, 100 left"
run 0 governor reset spender --budget 0.001 --mode=falsify
run 0 cost budget spender -o json
out_has '"allocated_micros":2001050,'
run 2 governor reset spender --budget -1
# SLO results feed the governor (ifctl-slo(1), STANDINGS): a swarm meeting
# its objectives gains reputation, one in a paging burn loses it and, under
# slo_block_paging, may neither claim nor be matched.
SLOPUB=$BUILD/tests/slopub
pub() { "$SLOPUB" "nats://127.0.0.1:$IF_SERVER_PORT" pub 2>"$T_DIR/pub.err" || not_ok "slopub: $(cat "$T_DIR/pub.err")"; }
standing() { "$BUILD/tests/rawput" "nats://127.0.0.1:$IF_SERVER_PORT" get IF_SLO_EPISODES "standing.$1"; }
run 0 swarm register --id slo-good -c infra:monitoring --reputation 0.5
run 0 swarm register --id slo-pager -c infra:monitoring --reputation 0.5
{
	i=0; while [ $i -lt 40 ]; do echo "slo-good task $((i * 30000 + 2000)) 40 1"; i=$((i + 1)); done
	i=0; while [ $i -lt 20 ]; do echo "slo-pager task $((i * 5000 + 1000)) 40 0"; i=$((i + 1)); done
} | pub
run 0 slo define slo-good --success 0.9 --window 6h
run 0 slo define slo-pager --success 0.99 --window 6h
run 4 slo status
out_has 'slo-pager +success .* page +breach'
check 'standing slo-pager | grep -q "\"alert\":\"page\",\"reputation_delta\":-0.1,"'
run 0 governor match -c infra:monitoring --all --why -o json
out_has '"factor":"slo-good","value":"qualified","detail":"score 0.8650 = [^"]* reputation 0.1650 \(0.55 = profile 0.5 \+0.05 SLO\)'
out_has '"factor":"slo-pager","value":"qualified","detail":"score 0.8200 = [^"]* reputation 0.1200 \(0.4 = profile 0.5 -0.1 SLO\)'
out_has '"factor":"reputation","value":"","detail":"the profile.s \+ the reputation_delta of its SLO standing'
printf 'version: 1\nprofiles:\n  default:\n    slo_block_paging: true\n' >"$T_DIR/slo-policy.yaml"
run 0 policy show --policy "$T_DIR/slo-policy.yaml"
out_has 'slo_block_paging +on'
run 0 governor match -c infra:monitoring --all --policy "$T_DIR/slo-policy.yaml" -o json --why
out_has '"swarm":"slo-pager".*"status":"slo-paging"'
out_has '"factor":"filters","value":"","detail":"retired, breaker open, SLO standing pages \(slo_block_paging\),'
out_has 'its SLO standing pages \(verdict breach since [0-9T:.-]+Z; slo_block_paging\)'
run 0 task push t-mon-1 -c infra:monitoring
IF_GOVERNOR_POLICY="$T_DIR/slo-policy.yaml" run 4 task claim --swarm slo-pager --trace=aaaa1111222233334444555566667777
err_has "swarm 'slo-pager' is in a paging SLO burn \(verdict breach, standing since [0-9T:.-]+Z\): policy slo_block_paging refuses new claims"
run 0 witness trace aaaa1111222233334444555566667777 -o json
out_has '"event":"governor.refuse"'
out_has 'slo-paging'
IF_GOVERNOR_POLICY="$T_DIR/slo-policy.yaml" run 8 task claim --swarm slo-pager --mode=falsify
out_has 'SLO standing does not page +fail'
run 4 policy check --swarm slo-pager --policy "$T_DIR/slo-policy.yaml"
err_has "'slo-pager' is in a paging SLO burn \(slo_block_paging\)"
run 0 policy check --swarm slo-pager
# A standing nobody can read keeps the swarm out until an evaluation rewrites it.
printf '{"v":1,"swarm":"slo-good","verdict":"ok","alert":"loud","reputation_delta":0,"since":1,"trace":null}' >"$T_DIR/standing.json"
"$BUILD/tests/rawput" "nats://127.0.0.1:$IF_SERVER_PORT" kv IF_SLO_EPISODES standing.slo-good "$T_DIR/standing.json" >/dev/null
IF_GOVERNOR_POLICY="$T_DIR/slo-policy.yaml" run 4 task claim --swarm slo-good
err_has "swarm 'slo-good': its SLO standing is invalid .*'ifctl slo status slo-good' rewrites it"
run 4 governor match -c infra:monitoring --all --policy "$T_DIR/slo-policy.yaml" -o json
out_has '"swarm":"slo-good".*"status":"slo-paging","detail":"its SLO standing is invalid'
err_has "no swarm qualifies: nearest 'slo-good' is excluded by slo-paging"
run 0 slo status slo-good
IF_GOVERNOR_POLICY="$T_DIR/slo-policy.yaml" run 0 task claim --swarm slo-good -o json
out_has '"id":"t-mon-1","state":"claimed"'
# Without the policy a paging swarm may claim (its reputation still moved).
run 0 task push t-mon-2 -c infra:monitoring
run 0 task claim --swarm slo-pager -o json
out_has '"id":"t-mon-2","state":"claimed"'
printf 'version: 1\nprofiles:\n  default:\n    slo_block_paging: maybe\n' >"$T_DIR/bad-slo-policy.yaml"
run 2 policy validate "$T_DIR/bad-slo-policy.yaml"
err_has '/profiles/default/slo_block_paging'
IF_GOVERNOR_POLICY="$T_DIR/bad-slo-policy.yaml" run 2 task claim --swarm slo-good

finish
