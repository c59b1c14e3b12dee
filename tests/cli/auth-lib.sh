# Raw NATS protocol checks of a user's permissions, for the tests of
# 'up --auth' (t-auth*.sh): source it after lib.sh.
#
#	refused USER PASS SUBJECT     publishing to SUBJECT is refused
#	allowed USER PASS SUBJECT     publishing to SUBJECT is not refused
#	allowed_sub USER PASS SUBJECT subscribing to SUBJECT is not refused

# nats_raw USER PASS: log in, send the protocol lines read from stdin, then
# PING; print the server's answers up to PONG (a refusal comes before it).
nats_raw() {
	exec 3<>"/dev/tcp/127.0.0.1/$IF_SERVER_PORT" || return 1
	{
		printf 'CONNECT {"user":"%s","pass":"%s","verbose":false,"pedantic":false,' "$1" "$2"
		printf '"headers":true,"protocol":1}\r\n'
		while IFS= read -r line; do printf '%s\r\n' "$line"; done
		printf 'PING\r\n'
	} >&3
	timeout 5 sed -u '/^PONG/q' <&3 | tr -d '\r' >"$OUT"
	exec 3<&-
}
refused() {
	LAST="$1 publishes to $3"
	printf 'PUB %s 0\n\n' "$3" | nats_raw "$1" "$2"
	if grep -q "Permissions Violation for Publish to \"$3\"" "$OUT"; then ok
	else not_ok "$LAST: not refused"; fi
}
allowed() {
	LAST="$1 publishes to $3"
	printf 'PUB %s 0\n\n' "$3" | nats_raw "$1" "$2"
	if grep -q '^PONG' "$OUT" && ! grep -q 'Violation' "$OUT"; then ok
	else not_ok "$LAST: refused"; fi
}
allowed_sub() {
	LAST="$1 subscribes to $3"
	printf 'SUB %s 1\n' "$3" | nats_raw "$1" "$2"
	if grep -q '^PONG' "$OUT" && ! grep -q 'Violation' "$OUT"; then ok
	else not_ok "$LAST: refused"; fi
}
