# "May this command write" is the dispatcher's: every command in the
# command table, run with --read-only and with --mode=falsify against a real
# server, leaves the server (the message count of each stream and bucket,
# the number of streams, the bytes stored) and the files under IF_HOME and
# the working directory exactly as they were.
. "$(dirname "$0")/lib.sh"

IFCTL=$(cd "$(dirname "$IFCTL")" && pwd)/$(basename "$IFCTL")
WORK="$T_DIR/cwd"
mkdir -p "$WORK" "$XDG_CONFIG_HOME"
cd "$WORK" || exit 1

# js_info: the account's JetStream usage ($JS.API.INFO), as one JSON line.
js_info() {
	exec 3<>"/dev/tcp/127.0.0.1/$IF_SERVER_PORT" || return 1
	printf 'CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\nSUB r.info 1\r\n' >&3
	printf 'PUB $JS.API.INFO r.info 0\r\n\r\nPING\r\n' >&3
	timeout 5 sed -u -n '/"streams"/{p;q}' <&3 | tr -d '\r' |
		sed 's/.*"memory":\([0-9]*\),"storage":\([0-9]*\),.*"streams":\([0-9]*\),"consumers":\([0-9]*\).*/memory \1 storage \2 streams \3 consumers \4/'
	exec 3<&-
}
# snapshot FILE: what a write would change: the server and the file trees
# (the server's own store and log excluded: the counts above cover them).
snapshot() {
	{
		js_info
		"$IFCTL" status -o json | tr '{' '\n' | sed -n 's/.*"name":"\([A-Z_]*\)".*"messages":\([0-9]*\),"bytes":\([0-9]*\).*/\1 \2 \3/p'
		find "$IF_HOME" "$WORK" "$XDG_CONFIG_HOME" -path "$IF_HOME/nats/jetstream" -prune -o \
			! -path "$IF_HOME/nats/nats.log" -printf '%p %s %m %T@\n' | sort
	} >"$1"
}

run 0 up -q
run 0 task push t-1 --title one -q
run 0 task push t-2 --title two -q
run 0 task push t-3 --title three -q --trace=feedc0de
run 0 task claim --swarm s1 -o json
TOK=$(sed 's/.*"token":\([0-9]*\).*/\1/' "$OUT" | head -1)
run 0 witness checkpoint -q
run 0 witness export --file "$T_DIR/ledger.jsonl"
run 0 index rebuild -q
snapshot "$T_DIR/before"
check "grep -q '^memory .* streams [0-9]' '$T_DIR/before' && grep -q '^IF_WITNESS [1-9]' '$T_DIR/before'"
check "grep -q 'index.db ' '$T_DIR/before'"

# The arguments each command is run with: enough for it to get to its writes.
args_of() {
	case "$1" in
	"coordinator push") echo "t-new --title new";;
	"coordinator claim") echo "--swarm s2";;
	"coordinator heartbeat"|"coordinator complete"|"coordinator fail"|"coordinator release")
		echo "t-1 --swarm s1 --token $TOK";;
	"coordinator show") echo "t-1";;
	"coordinator watch") echo "--count 1";;
	"coordinator bench"|"witness bench") echo "--quick";;
	"witness append") echo "--component test --event test.ro";;
	"witness trace") echo "feedc0de";;
	"witness tail") echo "-n 2";;
	"witness export") echo "--file exported.jsonl";;
	"witness verify") echo "";;
	"witness prove") echo "--inclusion 1";;
	"config init") echo "--force";;
	"config validate") echo "$XDG_CONFIG_HOME/none.yaml";;
	"completion") echo "bash";;
	esac
}
# The command table, as help lists it: families, then their subcommands.
listed() { sed -n "/^$1:\$/,/^\$/s/^  \([a-z]\+\)  .*/\1/p"; }
cmds=""
for c in $("$IFCTL" help | listed Commands); do
	subs=$("$IFCTL" "$c" --help | listed Subcommands)
	if [ -n "$subs" ]; then
		for s in $subs; do cmds="$cmds $c:$s"; done
	else
		cmds="$cmds $c"
	fi
done
check "[ \$(echo '$cmds' | wc -w) -ge 30 ]"
check "echo '$cmds' | grep -q 'coordinator:bench' && echo '$cmds' | grep -q 'witness:export'"

for flag in --read-only --mode=falsify; do
	for c in $cmds; do
		name=$(echo "$c" | tr : ' ')
		LAST="ifctl $flag $name"
		# shellcheck disable=SC2046
		timeout 60 "$IFCTL" $flag -q $name $(args_of "$name") >"$OUT" 2>"$ERR" </dev/null
		rc=$?
		if [ $rc -ge 124 ]; then not_ok "$LAST: exit $rc"; else ok; fi
		snapshot "$T_DIR/after"
		if cmp -s "$T_DIR/before" "$T_DIR/after"; then ok
		else	# name this command, then compare the next ones with what it left
			not_ok "$LAST changed: $(diff "$T_DIR/before" "$T_DIR/after" | head -6 | tr '\n' ' ')"
			cp "$T_DIR/after" "$T_DIR/before"
		fi
	done
done

# What writes for itself is refused, with the reason, under both.
for flag in --read-only --mode=falsify; do
	run 7 $flag task bench --quick
	err_has "refusing 'coordinator bench'"
	run 7 $flag witness bench --quick
	err_has "refusing 'witness bench'"
	run 7 $flag witness export --file F
	err_has "refusing to write 'F'"
	err_is_one_error
	check "[ ! -e F ]"
done
run 7 --read-only task push t-9
err_has "refusing 'coordinator push': read-only mode"
IF_READ_ONLY=true run 7 witness export --file F
# Reads still work, the index built in memory.
run 0 --read-only witness query --task t-1 -o json
out_has '"task":"t-1"'
run 0 --read-only witness trace feedc0de
out_has 'task.push'
run 0 --mode=falsify witness query --task t-1
snapshot "$T_DIR/after"
check "cmp -s '$T_DIR/before' '$T_DIR/after'"

# Two benchmarks at once each work in streams of their own, and leave none.
streams() { js_info | sed 's/.* streams \([0-9]*\) .*/\1/'; }
n0=$(streams)
"$IFCTL" witness bench --entries 1000 --appends 400 -q >"$T_DIR/b1" 2>&1 &
b1=$!
"$IFCTL" witness bench --entries 1000 --appends 400 -q >"$T_DIR/b2" 2>&1
check "[ $? = 0 ]"
wait $b1
check "[ $? = 0 ]"
check "[ $(grep -c 'append, 8 writers' "$T_DIR/b1") -ge 2 ]"
check "[ \"\$(streams)\" = '$n0' ] && [ -n '$n0' ]"

# Without either, the same commands write: the comparison can fail.
run 0 witness export --file exported.jsonl
check "[ -s exported.jsonl ]"
finish
