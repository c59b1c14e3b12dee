# ifctl config: init, show, validate, schema; layering and bad files.
. "$(dirname "$0")/lib.sh"
F=fixtures/config
CFG="$XDG_CONFIG_HOME/ifctl/config.yaml"

run 0 config show
out_has '^nats\.timeout_ms +2000 +default'
run 0 config init
out_has "$CFG"
check "[ -f '$CFG' ]"
check "[ \"\$(stat -c %a '$CFG')\" = 600 ]"
cp "$CFG" "$T_DIR/before"
run 1 config init
err_has 'already exists'
err_is_one_error
check "cmp -s '$CFG' '$T_DIR/before'"
run 8 config init --mode=falsify
out_has 'fail'
run 0 config init --force
run 0 config validate
run 7 config init --force --read-only

# A good file; sources are named with file and line.
run 0 --config $F/good.yaml config show
out_has "^nats\.timeout_ms +750 +$F/good.yaml:4"
out_has '^nats\.password +\*\*\*\*\*\*\*\*'
out_lacks 's3cret'
IF_NATS_TIMEOUT_MS=900 run 0 --config $F/good.yaml config show
out_has '^nats\.timeout_ms +900 +env IF_NATS_TIMEOUT_MS'
run 0 --config $F/good.yaml --server nats://h:1 config show -o json
out_json
out_has '"key":"nats.url","value":"nats://h:1","source":"flag"'
run 0 config show --defaults -o wide
out_has '^coordinator\.lease_ms +30000 +default +integer +IF_COORDINATOR_LEASE_MS +100\.\.86400000'

# Bad files: one clear line naming file, line and key; exit 2.
run 2 --config $F/bad-range.yaml config show
err_is_one_error
err_has "$F/bad-range.yaml: line 7: coordinator.lease_ms: 0 is below the minimum 100"
err_has '\[config-value\]'
run 2 --config $F/bad-key.yaml version
err_has "line 3: unknown key 'nats.timout_ms' \(did you mean 'nats.timeout_ms'\?\)"
err_has '\[config-key\]'
run 2 --config $F/bad-syntax.yaml version
err_has "$F/bad-syntax.yaml: line [0-9]+:"
err_has '\[config-syntax\]'
run 2 --config $F/bad-type.yaml version
err_has "server.port: 'four' is not an integer"
run 3 --config $F/missing.yaml version
err_has "config file '$F/missing.yaml' does not exist"
IF_NATS_TIMEOUT_MS=5 run 2 version
err_has 'environment IF_NATS_TIMEOUT_MS: nats.timeout_ms: 5 is below the minimum 50'

# validate lists every problem of a file and exits with the first one's code.
run 2 config validate $F/bad-many.yaml
out_has 'line 2: nats.timeout_ms'
out_has "line 4: unknown key 'server.prot'"
out_has 'line 6: output.format'
err_has '3 problems'
run 0 config validate $F/good.yaml
run 8 config validate $F/bad-many.yaml --mode=falsify
out_has '^valid +fail'
run 3 config validate $F/missing.yaml

# The shipped JSON Schema is the one the key table makes.
run 0 config schema
check "cmp -s '$OUT' schemas/config.schema.json"
"$JSONCHECK" <schemas/config.schema.json && ok || not_ok "schema is not JSON"

finish
