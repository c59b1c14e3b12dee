# The dispatcher, global options and error reporting, without a server.
. "$(dirname "$0")/lib.sh"

run 0 --help
out_has '^Usage: ifctl'
out_has '^  status '
run 0
out_has '^Commands:'
run 0 --version
out_has '^ifctl: +0\.'
run 0 version -o json
out_json
out_has '"nats_c":"3\.'
run 0 status --help
out_has '^Usage: ifctl status'
out_has '--output FORMAT'
run 0 help config show
out_has '^Usage: ifctl config show'
run 0 config --help
out_has 'Subcommands:'

# Unknown and ambiguous commands, unknown options: usage errors with a hint.
run 2 stauts
err_is_one_error
err_has "unknown command: stauts \(did you mean 'status'\?\)"
run 2 c
err_has 'ambiguous command: c, could be: (.*, )?coordinator, (.*, )?config, completion'
run 2 config shwo
err_has "unknown command: config shwo \(did you mean 'show'\?\)"
run 2 config
err_has "'config' needs a subcommand"
run 2 version --outptu json
err_has "unknown option '--outptu'.*did you mean --output"
run 2 version -o xml
err_has "unknown output format 'xml'"
run 2 version --mode=maybe
err_has "unknown mode 'maybe'"
run 2 version --no-headers=yes
err_has "takes no value"
run 2 version --output
err_has "needs a value"
run 2 version --color=sometimes
err_is_one_error
run 2 help nosuch
err_has 'unknown command'

# Prefixes resolve when unique.
run 0 vers -o json
out_json

# -v says which config was read and how long the command took, on stderr.
run 0 version -v -o json
out_json
err_has "^ifctl: config '.*' not present"
err_has '^ifctl: version took [0-9.]+ ms$'

# Every output format renders the same rows.
for f in table wide json jsonl yaml csv tsv; do
	run 0 version -o "$f"
	out_has '0\.1'
done
run 0 version -o jsonl
out_jsonl
run 0 version -ojson
out_json
run 0 help errors -o csv
out_has '^code,exit,summary,remedy'
out_has '^nats-unreachable,6,'
run 0 help errors --no-headers -o tsv
out_lacks '^code'

# --trace prints the trace id on stderr and leaves stdout alone.
run 0 version --trace -o json
out_json
err_has '^trace: [0-9a-f]{32}$'
run 0 version --trace=abc123
err_has '^trace: abc123$'

# Notices go to stderr through the session's hook: -v says more, -q nothing.
run 0 version -v
err_has "^ifctl: config '.*' not present"
err_has '^ifctl: version took [0-9.]+ ms$'
out_has '0\.1'
run 0 version --trace -q
err_empty
# No command: the help, from the dispatcher as a text document.
run 0
out_has '^Usage: ifctl \[OPTIONS\] COMMAND'
err_empty
# A failed write to stdout is an error, not silence.
LAST="ifctl version >/dev/full"
"$IFCTL" version >/dev/full 2>"$ERR"
check "[ $? = 1 ]"
err_has '^ifctl: cannot write output$'
# --mode=falsify: the checks on stdout, exit 8, the first failure named.
run 0 config init
run 8 config init --mode=falsify
out_has 'file absent or --force +fail'
err_has '1 of 1 checks would fail, the first: .*already exists'

# Completion scripts for three shells; bash's parses.
run 0 completion bash
out_has 'complete -F _ifctl ifctl'
bash -n "$OUT" && ok || not_ok "bash completion does not parse"
(. "$OUT"; COMP_WORDS=(ifctl conf); COMP_CWORD=1; _ifctl; [ "${COMPREPLY[*]}" = "config" ]) \
	2>/dev/null && ok || { bash -c ". $OUT; COMP_WORDS=(ifctl conf); COMP_CWORD=1; _ifctl; [ \"\${COMPREPLY[*]}\" = config ]" && ok || not_ok "bash completion of 'conf'"; }
bash -c ". $OUT; COMP_WORDS=(ifctl config s); COMP_CWORD=2; _ifctl; [ \"\${COMPREPLY[*]}\" = 'show schema' ]" \
	&& ok || not_ok "bash completion of 'config s'"
bash -c ". $OUT; COMP_WORDS=(ifctl status -o j); COMP_CWORD=3; _ifctl; [ \"\${COMPREPLY[*]}\" = 'json jsonl' ]" \
	&& ok || not_ok "bash completion of '-o j'"
run 0 completion zsh
out_has '^#compdef ifctl'
run 0 completion fish
out_has '^complete -c ifctl'
run 2 completion tcsh
err_has "unknown shell 'tcsh'"

# An unreachable server: exit 6 within the timeout, one error and a remedy.
port=$($FREEPORT)
start=$(date +%s%N)
IF_NATS_TIMEOUT_MS=500 run 6 status --server "nats://127.0.0.1:$port"
took=$(( ($(date +%s%N) - start) / 1000000 ))
err_is_one_error
err_has "cannot connect to 'nats://127.0.0.1:$port'"
err_has '\[nats-unreachable\]'
check "[ $took -lt 3000 ]"

# Terminal escapes in records reach no terminal: a title that would retitle
# the window (ESC ] 0 ; pwned BEL) and a bidi override are shown as text in
# table, wide, csv and tsv (and escaped in JSON); a swarm id has the id
# syntax; errors quoting a value show its controls as text.
ESC=$(printf '\033')
BEL=$(printf '\a')
EVIL=$(printf '\033]0;pwned\a x \342\200\256 y')
# no_controls: neither stdout nor stderr holds ESC, BEL or U+202E.
no_controls() {
	if grep -q "[$ESC$BEL]" "$OUT" "$ERR" || grep -qF "$(printf '\342\200\256')" "$OUT" "$ERR"
	then not_ok "$LAST: a control character reaches the terminal"; else ok; fi
}
run 0 up -q
run 0 task push t-esc --title "$EVIL" -c gpu
no_controls
out_has 'title: +\\e\]0;pwned\\a x \\u202e y$'
for o in table wide csv tsv; do
	run 0 task list -o $o
	no_controls
	out_has '\\e\]0;pwned\\a x \\u202e y'
done
run 0 task show t-esc -o json
out_has '"title":"\\u001b\]0;pwned\\u0007 x'
run 0 witness query --task t-esc -o wide
no_controls
run 2 task claim --swarm "$EVIL"
err_is_one_error
err_has "--swarm: '\\\\e\]0;pwned\\\\a x \\\\u202e y' is not a swarm id"
no_controls
run 2 task claim --swarm "s1$BEL"
run 2 task push t-x --to "s 1"
err_has "--to: 's 1' is not a swarm id"
for verb in heartbeat complete fail release; do
	run 2 task $verb t-esc --swarm "s/1" --token 1
	err_has "--swarm: 's/1' is not a swarm id"
done
run 2 task show "$EVIL"
no_controls
# Values a shell script gets wrong are refused, not read generously.
run 2 task push t-x -p " 5"
err_has "--priority: ' 5' is not an integer"
run 2 task push t-x -p "+5"
run 2 task claim --swarm s1 -c ',,,'
err_has "--capability: ',,,' has an empty capability name"
err_is_one_error
run 2 task claim --swarm s1 -c 'gpu,'
run 2 task push t-x -c 'a,,b'
run 2 task claim --swarm s1 -c 'g p u'
run 0 task list -o json
out_lacks '"t-x"'
run 0 task claim --swarm s1 -c gpu -o json
out_has '"id":"t-esc"'

finish
