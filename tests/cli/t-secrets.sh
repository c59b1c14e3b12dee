# Credentials never leak: a password in a NATS URL (--server, IF_NATS_URL,
# nats.url) is masked wherever a URL is shown (-v, config show, errors,
# status) and never reaches the witness ledger, which keeps the command line
# of every change for ever.
. "$(dirname "$0")/lib.sh"

N="$IF_HOME/nats"
pw() { sed -n 's/^  password: "\(.*\)"$/\1/p' "$N/$1.yaml"; }
# secret_absent: the operator's password is in neither stdout nor stderr.
secret_absent() {
	if grep -qF -- "$P" "$OUT" "$ERR"; then not_ok "$LAST: the password is shown"; else ok; fi
}

run 0 up --auth -q
P=$(pw operator)
check "[ \"\$(printf %s '$P' | wc -c)\" -eq 24 ]"
URL="nats://operator:$P@127.0.0.1:$IF_SERVER_PORT"
MASKED="nats://operator:\\*\\*\\*\\*@127.0.0.1:$IF_SERVER_PORT"

# -v says where it connected, without the password; the change is witnessed.
run 0 -v --server "$URL" task push t-sec-1 --title one
err_has "connected to 'nats://127.0.0.1:$IF_SERVER_PORT'"
secret_absent
run 0 -v -s"$URL" --why=because task push t-sec-2 --title two
secret_absent
run 0 -v "--server=$URL" task push t-sec-3 --title three
secret_absent
IF_NATS_URL=$URL run 0 -v task push t-sec-4 --title four
secret_absent
run 0 --server "$URL" status -o json
out_has "127.0.0.1:$IF_SERVER_PORT"
secret_absent
run 0 --server "$URL" status
secret_absent

# config show masks nats.url as it masks nats.password, from each source.
IF_NATS_URL=$URL run 0 config show
out_has "^nats.url +$MASKED +env IF_NATS_URL"
secret_absent
run 0 --server "$URL" config show -o json
out_has "\"value\": ?\"$MASKED\""
secret_absent
mkdir -p "$XDG_CONFIG_HOME/ifctl"
printf 'nats:\n  url: "%s"\n  password: "%s"\n' "$URL,nats://tok3n@127.0.0.1:1" "$P" \
	>"$XDG_CONFIG_HOME/ifctl/config.yaml"
run 0 config show -o wide
out_has "^nats.url +$MASKED,nats://\\*\\*\\*\\*@127.0.0.1:1 "
out_has '^nats.password +\*\*\*\*\*\*\*\* '
out_lacks 'tok3n'
secret_absent
rm "$XDG_CONFIG_HOME/ifctl/config.yaml"

# A connection error names the server, not the password.
BAD=$($FREEPORT)
run 6 --server "nats://operator:$P@127.0.0.1:$BAD" -v status
err_has "127.0.0.1:$BAD"
secret_absent
run 6 --server "nats://operator:$P@127.0.0.1:$BAD" task push t-sec-9
secret_absent
# A wrong password is refused without being echoed.
run 7 --server "nats://operator:wrong${P}x@127.0.0.1:$IF_SERVER_PORT" task list
check "! grep -qF 'wrong' '$ERR'"

# The ledger holds each command line with the secret replaced.
run 0 witness export
out_has '"argv":\["-v","--server","nats://operator:\*\*\*\*@127.0.0.1:[0-9]+","task","push","t-sec-1"'
out_has '"-snats://operator:\*\*\*\*@127'
out_has '"--server=nats://operator:\*\*\*\*@127'
out_has '"--why=because"'
check "[ \"\$(grep -c '\"event\":\"command.coordinator.push\"' '$OUT')\" -eq 4 ]"
secret_absent
run 0 witness query --event command.coordinator.push -o json
secret_absent
run 0 witness verify
finish
