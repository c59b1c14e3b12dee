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
finish
