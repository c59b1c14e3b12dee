# ifctl console in tmux against a real local server: send keys, capture the
# screen, assert what it shows. Each wait polls the screen (no fixed sleeps).
. "$(dirname "$0")/../cli/lib.sh"
# The plain capability this test pushes with, declared as a site declares its own.
export IF_GOVERNOR_CAPABILITIES="$IF_GOVERNOR_CAPABILITIES,code"

command -v tmux >/dev/null || { echo "t-console: tmux missing (make deps)" >&2; exit 1; }
SOCK="ifctl-t-console-$$"
S=console
TM() { tmux -L "$SOCK" -f /dev/null "$@"; }
tui_cleanup() { TM kill-server 2>/dev/null; t_cleanup; }
trap tui_cleanup EXIT
SCREEN="$T_DIR/screen"
IFCTL_ABS=$(cd "$(dirname "$IFCTL")" && pwd)/$(basename "$IFCTL")

screen() { TM capture-pane -p -t "$S" >"$SCREEN" 2>/dev/null; }
# wait_for PATTERN [TENTHS]: the screen shows PATTERN (grep -E) within TENTHS/10 s.
wait_for() {
	n=${2:-100}
	while [ "$n" -gt 0 ]; do
		screen
		grep -qE -- "$1" "$SCREEN" && { ok; return 0; }
		grep -q 'EXIT=' "$SCREEN" && break	# the console is gone: no use waiting
		sleep 0.1
		n=$((n - 1))
	done
	T_FAIL=$((T_FAIL + 1))
	echo "FAIL t-console: the screen lacks /$1/:" >&2
	sed 's/^/  | /' "$SCREEN" >&2
	return 1
}
# gone PATTERN: the screen stops showing PATTERN within 10 s.
gone() {
	n=100
	while [ "$n" -gt 0 ]; do
		screen
		grep -qE -- "$1" "$SCREEN" || { ok; return 0; }
		sleep 0.1
		n=$((n - 1))
	done
	not_ok "the screen still shows /$1/"
}
keys() { TM send-keys -t "$S" "$@"; }
# console ARGS...: start the console in a fresh tmux session of 120x35.
console() {
	TM kill-session -t "$S" 2>/dev/null
	TM new-session -d -s "$S" -x 120 -y 35 \
		"$IFCTL_ABS $* 2>$T_DIR/console.err; echo CONSOLE-EXIT=\$?; cat $T_DIR/console.err; sleep 60"
}

# No terminal, or a dumb one: one error, exit 2, no escape sequences.
run 2 console
err_has 'needs a terminal: stdin is not one'
err_is_one_error
err_has '\[no-tty\]$'
check "! grep -q \"\$(printf '\\033')\" '$ERR'"
TM new-session -d -s dumb -x 80 -y 24 "TERM=dumb $IFCTL_ABS console; echo DUMB-EXIT=\$?; sleep 60"
S=dumb wait_for 'DUMB-EXIT=2'
S=dumb wait_for "TERM is 'dumb'"

run 0 up -q
run 0 task push t-alpha --title alpha-task -c code-analysis:python
run 0 task push t-beta --title beta-task
run 0 task push t-gamma --title gamma-task
sleep 1.1
at=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
sleep 1.1

console console
wait_for '> tasks \(3\)'
wait_for 'chain OK up to seq [0-9]+'
wait_for '\* live'

# A task pushed by another process appears by itself.
run 0 task push t-live --title live-arrival
wait_for 'live-arrival'
wait_for 'tasks \(4\)'

# Filter, then drill into the task, then into its trace, and back.
keys / alpha Enter
wait_for 'tasks \(4, 1 shown\)  filter .alpha.'
check "! grep -q live-arrival '$SCREEN'"
keys Enter
wait_for '> task show t-alpha'
wait_for 'title: +alpha-task'
wait_for 'AT +STATE +BY'
keys Enter
wait_for '> witness trace [0-9a-f]{32}'
wait_for 'task.push'
keys Escape
wait_for '> task show t-alpha'
keys Escape
wait_for '> tasks \(4, 1 shown\)'
keys Escape
wait_for '> tasks \(4\)'

# Help is built from the key table.
keys '?'
wait_for 'KEYS'
wait_for 'rewind a minute'
wait_for 'tasks +fed by KV watch of IF_TASKS'
# Every key the help lists (it is built from the key table) is in the man page.
sed -n '/^KEYS/,/^PANES/p' "$SCREEN" | sed -n 's/^  \([^ ][^ ]*\).*/\1/p' | tr -d , >"$T_DIR/keys"
check "[ \$(wc -l <'$T_DIR/keys') -ge 20 ]"
while read -r k; do
	grep -qF -- "$(printf '%s' "$k" | sed 's/-/\\-/g')" man/ifctl-console.1 && ok ||
		not_ok "ifctl-console.1 lacks key '$k'"
done <"$T_DIR/keys"
keys Escape
wait_for '> tasks \(4\)'

# Sizes: one pane at 40x12, too small below, both back at full size.
TM resize-window -t "$S" -x 40 -y 12
wait_for '> tasks \(4\)'
gone 'witness \('
TM resize-window -t "$S" -x 30 -y 10
wait_for 'terminal too small'
TM resize-window -t "$S" -x 120 -y 35
wait_for 'witness \([0-9]+ entries'
wait_for '> tasks \(4\)'

# ':' runs a command of the CLI's table in the console's session.
keys : 'task list --state queued -o wide' Enter
wait_for '> task list --state queued -o wide'
wait_for 'CAPABILITIES'
wait_for 't-gamma'
keys Escape
keys : 'nosuch' Enter
wait_for 'unknown command'
keys Escape
wait_for '> tasks \(4\)'
keys : 'down -q' Enter
wait_for "not run here: 'down -q'"
keys : 'task watch' Enter
wait_for "not run here: 'task watch'"


# Swarms: one registered by another process appears live; retire asks first,
# runs through the dispatcher and is witnessed; refused while rewound (below).
run 0 swarm register --id sw-test -c code-analysis:python --max-concurrent 2
keys Tab
wait_for '> swarms \(1\)'
wait_for 'sw-test +active +closed +0/2'
keys D
wait_for "retire swarm 'sw-test'\? .*\(witnessed\) \[y/N\]"
keys y
wait_for '> --trace swarm retire sw-test'
keys Escape
wait_for 'sw-test +retired'
run 0 witness query --event command.swarm.retire -o jsonl
out_has '"actor":"operator"|command.swarm.retire'
keys b
wait_for "breaker is closed already"

# Budget: an allocation made elsewhere appears.
run 0 cost allocate sw-test 12.5
wait_for 'budget \(1\)'
wait_for 'swarm.sw-test +12.50'

# SLO: an objective and a breach recorded elsewhere appear with the episode open.
run 0 slo define sw-test --success 0.9
wait_for 'slo \(1 objective'
i=0; : >"$T_DIR/samples"
while [ $i -lt 10 ]; do echo "sw-test task 1000 100 0" >>"$T_DIR/samples"; i=$((i + 1)); done
"$BUILD/tests/slopub" "nats://127.0.0.1:$IF_SERVER_PORT" pub <"$T_DIR/samples" 2>/dev/null ||
	not_ok "slopub failed"
run 4 slo status sw-test
wait_for 'sw-test +success .* breach .*#1 OPEN' 150
wait_for '1 open episode'
keys BTab
wait_for '> tasks \('

# A change asks first, runs through the dispatcher and is witnessed.
keys / alpha Enter
wait_for 'tasks \(4, 1 shown\)'
keys x
wait_for "cancel task 't-alpha'\? \(witnessed\) \[y/N\]"
keys n
wait_for 'not done: cancel'
keys x
wait_for "cancel task 't-alpha'"
keys y
wait_for '> --trace task cancel t-alpha'
wait_for 'state: +dead'
keys Escape Escape
run 0 task show t-alpha -o json
out_has '"state":"dead"'
run 0 witness tail -n 5
out_has 'operator +command.coordinator.cancel'
wait_for 'command.coordinator.cancel'

# Rewind: a minute back there were no tasks; changes are refused; l is live.
keys '['
wait_for '<< viewing [0-9:]+, 1 min ago'
wait_for '> tasks \(0\)'
keys x
wait_for 'refused: viewing the past'
keys Tab
wait_for '> swarms \(0\)'
keys D
wait_for 'refused: viewing the past'
keys BTab
keys : 'task push --title nope' Enter
wait_for "not run here: 'task push --title nope'"
keys l
gone '<< viewing'
wait_for '> tasks \(4\)'

# The server restarts: the console says so, then resumes by itself.
run 0 down -q
wait_for '~ reconnecting|lost the server'
run 0 up -q
wait_for 'reconnected to the server'
run 0 task push t-after --title after-restart
wait_for 'after-restart'

keys q
wait_for 'CONSOLE-EXIT=0'

# --at opens rewound: the three first tasks, before t-live was pushed.
console console --at "$at" --color=never
wait_for "<< viewing"
wait_for '> tasks \(3\)'
check "! grep -q live-arrival '$SCREEN'"
keys l
wait_for '> tasks \(5\)'
keys q
wait_for 'CONSOLE-EXIT=0'
check "[ ! -s '$T_DIR/console.err' ] || ! grep -qi 'sanitizer\|leak' '$T_DIR/console.err'"

finish
