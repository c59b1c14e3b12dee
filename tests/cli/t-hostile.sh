# Hostile input on a real server: what would have bricked the ledger or
# stopped the fleet is refused with exit 2 and leaves the ledger verifying;
# records and messages other clients wrote are named by ifctl doctor.
. "$(dirname "$0")/lib.sh"
RAWPUT=$BUILD/tests/rawput
URL="nats://127.0.0.1:$IF_SERVER_PORT"

run 0 up -q
run 0 doctor
out_has 'task records +ok'
out_has 'witness ledger tail +ok'

# Witness appends: refused before anything is written.
run 2 witness append --component x --event y --payload '{"n":1e400}'
err_has 'payload: invalid JSON at line 1, column 6: number 1e400 is beyond the range of a double'
run 2 witness append --component x --event y --payload '{"n":12345678901234567890123}'
err_has 'send it as a string'
run 2 witness append --component x --event y --payload '{"a":1,"a":2}'
err_has 'duplicate member "a"'
deep=$(printf '%0.s[' $(seq 1000))$(printf '%0.s]' $(seq 1000))
run 2 witness append --component x --event y --payload "$deep"
err_has 'nested deeper than 64'
run 2 witness append --component x --event y --actor "$(printf 'a\377b')"
err_has 'actor is not valid UTF-8 \(byte 2\)'
run 2 witness append --component x --event y --payload "$(printf '{"s":"\377"}')"
err_has 'invalid UTF-8'
# U+0000 is kept, not cut off.
run 0 witness append --component x --event nul --payload '{"s":"a\u0000b","n":0.10}' -o json
out_has '"payload":\{"n":0.1,"s":"a\\u0000b"\}'
run 0 witness verify
out_has '^result: +ok'
run 0 witness query --event nul -o jsonl
out_has 'a\\u0000b'

# Task pushes: the same reader guards the records.
run 2 task push --title t --payload '{"budget":1e400}'
err_has 'beyond the range of a double'
run 2 task push --title t --id 'x..y'
err_has "invalid task id 'x..y'"
run 2 task push --title "$(printf 'a\377b')"
err_has 'its title is not valid UTF-8'
run 0 task push --title good --id good-1 -p 1 -q

# Foreign task records: quarantined, named by doctor, claims go on.
printf '{"v":1,"id":"other","state":"queued","priority":9,"attempts":0,"max_attempts":5,"created":1}' >"$T_DIR/r1"
printf '{"v":1,"id":"prio","state":"queued","priority":"5","attempts":0,"max_attempts":5}' >"$T_DIR/r2"
printf '{"v":1,"id":"short","state":"queued","priority":9}' >"$T_DIR/r3"
printf 'not json at all' >"$T_DIR/r4"
LAST="rawput foreign records"
for k in 1 2 3 4; do
	key=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$T_DIR/r$k"); key=${key:-garbage}
	[ "$k" = 1 ] && key=mismatch
	if "$RAWPUT" "$URL" kv IF_TASKS "$key" "$T_DIR/r$k" >/dev/null 2>"$ERR"; then ok; else not_ok "$LAST $k"; fi
done
run 2 doctor
out_has 'task records +fail +4 of 5 records are invalid'
out_has "'mismatch': its id 'other' is not its key"
out_has "'prio': task record: field 'priority' must be an integer, not a string"
out_has "'short': task record: field 'attempts' is missing"
out_has "'garbage': task record: invalid JSON"
err_has "doctor: check 'task records' failed"
run 2 doctor -o json
LAST="doctor -o json"
if "$JSONCHECK" <"$OUT" >/dev/null 2>&1; then ok; else not_ok "$LAST: not JSON"; fi

# Garbage on the ledger's subject: named by its sequence number.
printf 'garbage' >"$T_DIR/g"
LAST="rawput garbage on the ledger"
seq=$("$RAWPUT" "$URL" pub if.v1.witness.entry "$T_DIR/g" 2>"$ERR") && ok || not_ok "$LAST"
run 2 doctor	# the first failed check gives the exit code
out_has "witness ledger tail +fail +stream 'IF_WITNESS' message $seq"
run 5 witness verify
finish
