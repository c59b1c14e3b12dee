# Canonical JSON against another implementation: node's JSON.stringify gives
# the ECMAScript form of a million doubles (random bit patterns, everyday
# sizes, decimals, neighbours of powers of two) and the RFC 8785 form of
# random documents (non-BMP names, escapes, U+0000); ifctl must agree byte
# for byte.
. "$(dirname "$0")/lib.sh"
ORACLE="$(dirname "$0")/jcs-oracle.js"
CHECK=$BUILD/tests/jcscheck
N=${JCS_NUMBERS:-1000000}

if ! command -v node >/dev/null; then
	not_ok "node is not installed (make deps installs nodejs)"
	finish
fi

LAST="jcscheck numbers ($N doubles)"
if node "$ORACLE" numbers "$N" 12345 >"$T_DIR/numbers" &&
   "$CHECK" numbers <"$T_DIR/numbers" >"$OUT" 2>"$ERR"; then ok; else not_ok "$LAST"; fi
out_has "checked $N, mismatches 0"

LAST="jcscheck docs (20000 documents)"
if node "$ORACLE" docs 20000 777 >"$T_DIR/docs" &&
   "$CHECK" docs <"$T_DIR/docs" >"$OUT" 2>"$ERR"; then ok; else not_ok "$LAST"; fi
out_has "checked 20000, mismatches 0"

# The check can fail: a wrong answer is caught.
printf '3fb999999999999a 0.10000000000000001\n' >"$T_DIR/wrong"
LAST="jcscheck numbers (a wrong answer)"
if "$CHECK" numbers <"$T_DIR/wrong" >"$OUT" 2>"$ERR"; then not_ok "$LAST: accepted"; else ok; fi
err_has 'got 0.1, want 0.10000000000000001'

# Entries written by ifctl on a real server, hashed again by node alone:
# anyone's JCS library reproduces the ledger's hashes.
run 0 up -q
for p in '{"n":0.1,"big":123456789012,"e":1e21,"neg":-0.0,"tiny":5e-324}' \
	 '{"s":"a\u0000b","u":"\ud83d\ude02\u20ac\u00e9","c":"\b\f\u001f\u007f"}' \
	 '{"\ufb33":1,"\ud83d\ude02":2,"z":[],"a":{"y":null,"x":true}}'; do
	run 0 witness append --component test --event jcs --actor "op\u00e9rateur" --payload "$p"
done
run 0 witness append --component test --event jcs --actor 'snow ☃ man' --tokens 7 \
	--cost-micros 1250
run 0 witness export -f "$T_DIR/export.jsonl"
LAST="the export is private"
if [ "$(stat -c %a "$T_DIR/export.jsonl")" = 600 ]; then ok; else not_ok "$LAST: mode $(stat -c %a "$T_DIR/export.jsonl")"; fi
LAST="node recomputes every entry hash of the export"
if node "$(dirname "$0")/jcs-rehash.js" <"$T_DIR/export.jsonl" >"$OUT" 2>"$ERR"; then ok; else
	not_ok "$LAST"; fi
out_has 'entries [0-9]+, mismatches 0'
finish
