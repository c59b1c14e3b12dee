# ifctl cred and ifctl vault against a real server, and the egress proxy
# forwarding an allowed request to a local HTTP server (node) from inside
# the sandbox and refusing the rest.
. "$(dirname "$0")/lib.sh"
FIX=$BUILD/fixtures/chassis
SCHEMACHECK=$BUILD/tests/schemacheck
conforms() {
	if "$SCHEMACHECK" "schemas/$1.schema.json" ${2+"$2"} <"$OUT" 2>"$T_DIR/schema.err"; then ok
	else not_ok "$LAST: not $1: $(head -3 "$T_DIR/schema.err")"; fi
}
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$OUT" | head -1; }

run 0 up -q

# --- a local HTTP server: /ok/... and /no.txt ------------------------------
HP=$($FREEPORT)
mkdir -p "$T_DIR/www/ok"
echo "hello from the endpoint" >"$T_DIR/www/ok/x.txt"
echo "private" >"$T_DIR/www/no.txt"
(cd "$T_DIR/www" && exec node -e "require('http').createServer((q, r) => {
	require('fs').readFile('.' + q.url, (e, d) => { r.writeHead(e ? 404 : 200); r.end(e ? 'nf' : d); });
}).listen($HP, '127.0.0.1')") &
T_PIDS="$T_PIDS $!"
i=0; until (exec 3<>"/dev/tcp/127.0.0.1/$HP") 2>/dev/null || [ $i -gt 500 ]; do i=$((i + 1)); sleep 0.01; done
BASE="http://127.0.0.1:$HP"

# --- issue, check ------------------------------------------------------------
run 0 cred issue --swarm s1 --task t-1 --ttl 5m --allow "$BASE/ok" --allow "https://*.example.com" -o json
conforms credential
out_has '"state":"active"'
out_has '"allow":\["http://127.0.0.1:[0-9]+/ok","https://\*.example.com"\]'
err_has 'shown this once'
TOK=$(field token)
ID=$(field id)
check "printf '%s' '$TOK' | grep -qE '^ifc1_[0-9a-f]{64}$'"

run 0 cred check "$TOK" "$BASE/ok/x.txt" -o json
conforms cred-check
out_has '"verdict":"allow"'
printf '%s\n' "$TOK" >"$T_DIR/tok"
run 0 cred check "@$T_DIR/tok" https://api.example.com/v1
run 4 cred check "$TOK" "$BASE/no.txt" -o json
out_has '"verdict":"not-allowed","reason":"endpoint not allowed"'
err_is_one_error
err_has '\[cred-denied\]'
run 4 cred check "$TOK" "$BASE/okay"
run 4 cred check ifc1_0000000000000000000000000000000000000000000000000000000000000000 "$BASE/ok"
out_has 'unknown credential'
run 4 cred check not-a-token "$BASE/ok"
out_has 'unknown'

# the store keeps the hash, never the token
run 0 cred list -o json
conforms credential '[]'
out_lacks "$TOK"

# an empty allow-list allows nothing
run 0 cred issue --swarm s1 --ttl 1h -o json
err_has 'allows no endpoint at all'
EMPTY=$(field token)
run 4 cred check "$EMPTY" "$BASE/ok"
out_has 'the allow-list is empty'

# expiry: N s ago
run 0 cred issue --swarm s2 --ttl 1s --allow "$BASE/ok" -o json
SHORT=$(field token)
sleep 1.1
run 4 cred check "$SHORT" "$BASE/ok"
out_has 'expired [0-9]+ s ago'
run 0 cred list --state expired -o json
out_has '"swarm":"s2"'

# rotation: a new token, the old one revoked naming it
run 0 cred rotate "$ID" -o json
NEW=$(field token)
NEWID=$(field id)
check "[ '$NEW' != '$TOK' ]"
run 0 cred check "$NEW" "$BASE/ok/x.txt"
run 4 cred check "$TOK" "$BASE/ok/x.txt"
out_has "revoked [0-9]+ s ago, rotated to $NEWID"
run 1 cred revoke "$ID"
err_has 'already revoked'
run 3 cred revoke cred-0000000000000000
run 3 cred rotate nope

# bad input
run 2 cred issue --swarm s1 --ttl 5 --allow "$BASE/ok"
err_is_one_error
err_has "TTL '5' is not a duration"
run 2 cred issue --swarm s1 --ttl 31d
run 2 cred issue --swarm s1 --ttl 5m --allow api.example.com
err_has 'has no scheme'
run 2 cred issue --swarm s1 --ttl 5m --allow 'https://h/p?q=1'
err_has 'no query'
run 2 cred issue --swarm 'bad id' --ttl 5m
run 2 cred check "$NEW" 'https://*.example.com/'
run 2 cred issue --swarm s1
err_has 'needs --ttl'

# --- the egress proxy from inside the sandbox ------------------------------
run 0 chassis run --cred "$NEW" "$FIX/fetch" -o json -- "$BASE/ok/x.txt"
out_has 'HTTP/1.1 200 OK'
out_has 'hello from the endpoint'
out_has '"egress_allowed":1,"egress_denied":0'
out_has "\"cred\":\"$NEWID\""
run 1 chassis run --cred "$NEW" "$FIX/fetch" -o json -- "$BASE/no.txt"
out_has 'HTTP/1.1 403 Forbidden'
out_has 'X-Ifctl-Deny: not-allowed'
out_lacks 'private'
# the token from a file inside the sandbox, not the environment
run 0 chassis run --cred "@$T_DIR/tok" /usr/bin/sh -o json -- -c 'cat /run/ifctl/cred | wc -c'
out_has '"stdout":"69\\n"'
# a revoked token: refused
run 1 chassis run --cred "$TOK" "$FIX/fetch" -o json -- "$BASE/ok/x.txt"
out_has 'X-Ifctl-Deny: revoked'
# without a credential there is no way out at all
run 1 chassis run "$FIX/fetch" -o json -- "$BASE/ok/x.txt"
out_has 'no IF_EGRESS_SOCKET'
# the token never reaches the witness, the command line is masked
run 0 witness query --event cred.check -o json
out_has '"verdict":"allow"'
out_has '"verdict":"not-allowed"'
out_lacks "$NEW"
"$IFCTL" witness export --file "$T_DIR/w.jsonl" >/dev/null 2>&1
check "! grep -q '$NEW' '$T_DIR/w.jsonl'"
check "grep -q '\"--cred\",\"\*\*\*\*\*\*\*\*\"' '$T_DIR/w.jsonl'"

# the proxy alone: plain HTTP and CONNECT
SOCK="$T_DIR/egress.sock"
"$IFCTL" chassis proxy --socket "$SOCK" --for 30 -o json >"$T_DIR/proxy.out" 2>/dev/null &
PX=$!
i=0; until [ -S "$SOCK" ] || [ $i -gt 500 ]; do i=$((i + 1)); sleep 0.01; done
px_fetch() { IF_EGRESS_SOCKET="$SOCK" IF_CRED_TOKEN="$1" "$FIX/fetch" "$2" 2>&1; }
px_fetch "$NEW" "$BASE/ok/x.txt" >"$T_DIR/px1"
check "grep -q 'hello from the endpoint' '$T_DIR/px1'"
px_fetch "" "$BASE/ok/x.txt" >"$T_DIR/px2"
check "grep -q '407 Proxy Authentication Required' '$T_DIR/px2'"
px_fetch "$NEW" "$BASE/no.txt" >"$T_DIR/px3"
check "grep -q '403 Forbidden' '$T_DIR/px3' && ! grep -q private '$T_DIR/px3'"
# CONNECT is checked as https://HOST:PORT/: refused by the http pattern, allowed by an https one
connect() {
	node -e "const s = require('net').connect('$SOCK', () => s.write('CONNECT 127.0.0.1:$HP HTTP/1.1\r\n' +
		'Proxy-Authorization: Bearer $1\r\n\r\n'));
		let buf = '', sent = false;
		s.on('data', d => { buf += d; if (!sent && buf.includes('\r\n\r\n') && buf.startsWith('HTTP/1.1 200')) {
			sent = true; s.write('GET /ok/x.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'); } });
		s.on('end', () => { process.stdout.write(buf); });"
}
connect "$NEW" >"$T_DIR/px4"
check "grep -q '403 Forbidden' '$T_DIR/px4'"
run 0 cred issue --swarm s1 --ttl 5m --allow "https://127.0.0.1:*" -o json
TLS=$(field token)
connect "$TLS" >"$T_DIR/px5"
check "grep -q '200 Connection established' '$T_DIR/px5' && grep -q 'hello from the endpoint' '$T_DIR/px5'"
kill -INT $PX
wait $PX
OUT="$T_DIR/proxy.out"
LAST="chassis proxy"
conforms chassis-proxy
out_has '"allowed":2,"denied":3'

# --- the vault -------------------------------------------------------------
printf 's3cr3t-value' | "$IFCTL" vault put db >"$OUT" 2>"$ERR"
check "[ $? = 0 ]"
run 0 vault list -o json
conforms vault-secret '[]'
out_has '"name":"db","size":12'
out_lacks 's3cr3t'
run 0 vault get db -o json
out_lacks 's3cr3t'
err_has 'add --reveal'
run 0 vault get db --reveal
check "[ \"\$(cat '$OUT')\" = 's3cr3t-value' ]"
run 0 vault get db --reveal -o json
conforms vault-secret
out_has '"value":"s3cr3t-value"'
check "! grep -rq 's3cr3t' '$IF_HOME/vault' '$IF_HOME/keys'"
check "[ \$(stat -c %a '$IF_HOME/keys/vault.key') = 600 ] && [ \$(stat -c %a '$IF_HOME/vault/db') = 600 ]"
"$IFCTL" witness export --file "$T_DIR/w2.jsonl" >/dev/null 2>&1
check "! grep -q 's3cr3t' '$T_DIR/w2.jsonl'"
check "grep -q '\"vault.reveal\"' '$T_DIR/w2.jsonl'"
chmod 644 "$IF_HOME/keys/vault.key"
run 7 vault get db --reveal
err_is_one_error
err_has 'must be 0600'
out_lacks 's3cr3t'
chmod 600 "$IF_HOME/keys/vault.key"
cp "$IF_HOME/vault/db" "$IF_HOME/vault/other"
sed -i 's/"name":"db"/"name":"other"/' "$IF_HOME/vault/other"
run 1 vault get other --reveal
err_has 'does not open'
run 2 vault put db extra-value
err_has 'never the command line'
run 2 vault put 'bad name'
run 3 vault get nope
# a secret reaches the sandbox as a file, and nothing else: not the record's
# summary in the ledger, not the environment, not bwrap's command line
run 0 chassis run --secret db /usr/bin/sh -o json -- -c 'cat /run/ifctl/secrets/db; env | grep -c 3cr3t || true'
out_has '"stdout":"s3cr3t-value0\\n"'
out_has '"secrets":\["db"\]'
run 3 chassis run --secret nope /usr/bin/sh -- -c true
err_has "no secret 'nope'"
"$IFCTL" witness export --file "$T_DIR/w3.jsonl" >/dev/null 2>&1
check "! grep -q 's3cr3t' '$T_DIR/w3.jsonl' && grep -q '\"secrets\":\[\"db\"\]' '$T_DIR/w3.jsonl'"
run 0 vault rm db
run 3 vault rm db

finish
