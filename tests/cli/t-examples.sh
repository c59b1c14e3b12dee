# The manual's examples run: every example of every man page, of the README
# and of 'ifctl help workflows' is extracted (tools/doc-examples.awk says
# how; ifctl-workflows(7) EXAMPLES IN THIS MANUAL tells the reader) and run
# against real servers, so a page that drifts from the code fails here.
#
# Each page runs in a fresh environment of its own: HOME is a new directory
# (so ~/.local/share/ifctl and ~/.config/ifctl are new), IF_SERVER_PORT a
# free port, the working directory a new one with fixtures/,
# build/fixtures/ (make chassis-fixtures) and tests/interop/ (the nats.js client) in it, ifctl
# the binary under test first on PATH, and NATS_URL a bare JetStream
# nats-server of its own standing for "another server". Examples run in order in one
# bash, so a variable set by one is there for the next. Whatever a page
# started is stopped after it. The closing line counts the examples run.
# EXAMPLES_ONLY=REGEX runs the pages whose name matches; EXAMPLES_TIME=1
# prints how long each example and page took.
. "$(dirname "$0")/lib.sh"
SRC=$(pwd)
BIN_DIR="$T_DIR/bin"
mkdir -p "$BIN_DIR"
ln -s "$(cd "$(dirname "$IFCTL")" && pwd)/$(basename "$IFCTL")" "$BIN_DIR/ifctl"
TOTAL=0
PAGES=0

# The library the generated scripts source: __ex starts an example, __done
# checks its exit code and output.
cat >"$T_DIR/exlib.sh" <<'LIB'
__ex() {
	__loc=$1 __want=$2
	cat >"$__DIR/expect"
	__t0=$(date +%s%N)
	exec 3>&1 4>&2 >"$__DIR/out" 2>&1 </dev/null
}
__done() {
	__got=$1
	exec 1>&3 2>&4 3>&- 4>&-
	[ -n "${EXAMPLES_TIME:-}" ] && echo "time $__loc: $((($(date +%s%N) - __t0) / 1000000)) ms"
	__n=$((__n + 1))
	if [ "$__got" != "$__want" ]; then
		echo "FAIL $__loc: exit $__got, want $__want"
		sed 's/^/    | /' "$__DIR/out" | head -20
		__bad=$((__bad + 1))
		return 0
	fi
	# each expected line, in order, "..." for any text
	__line=1
	while IFS= read -r __e; do
		__pat=$(printf '%s' "$__e" | sed 's/[][*?\\]/\\&/g; s/\.\.\./*/g')
		__found=0
		while IFS= read -r __o; do
			__line=$((__line + 1))
			# shellcheck disable=SC2053
			if [[ $__o == $__pat ]]; then __found=1; break; fi
		done < <(tail -n +"$__line" "$__DIR/out")
		if [ $__found = 0 ]; then
			echo "FAIL $__loc: output lacks '$__e'"
			sed 's/^/    | /' "$__DIR/out" | head -20
			__bad=$((__bad + 1))
			return 0
		fi
	done <"$__DIR/expect"
	return 0
}
__n=0
__bad=0
LIB

# run_page NAME MODE FILE: run one page's examples in a fresh environment.
# EXAMPLES_ONLY=REGEX runs only the pages whose name matches (while writing one).
run_page() {
	name=$1 mode=$2 file=$3
	if [ -n "${EXAMPLES_ONLY:-}" ] && ! printf '%s' "$name" | grep -qE -- "$EXAMPLES_ONLY"; then
		return
	fi
	dir="$T_DIR/page-$PAGES-$(printf '%s' "$name" | tr -c 'A-Za-z0-9.-' _)"
	# a fresh directory per page: a link made twice would land inside the tree it names
	rm -rf "$dir"
	if grep -q 'tests/interop/fleet.js' "$file" && [ ! -f tests/interop/node_modules/nats/package.json ]; then
		echo "# $name skipped: it runs tests/interop/fleet.js and nats.js is not" \
		     "installed (make deps-node; tests/interop/npm.log)"
		return
	fi
	mkdir -p "$dir/home" "$dir/work/tests"
	ln -s "$SRC/fixtures" "$dir/work/fixtures"
	ln -s "$SRC/tests/interop" "$dir/work/tests/interop"
	# what 'make chassis-fixtures' builds, where a checkout has it: build/fixtures/
	mkdir -p "$dir/work/build"
	ln -s "$(cd "$BUILD" && pwd)/fixtures" "$dir/work/build/fixtures"
	{
		echo ". '$T_DIR/exlib.sh'"
		echo "__DIR='$dir'"
		awk -v mode="$mode" -v src="$name" -f "$SRC/tools/doc-examples.awk" "$file"
		echo 'echo "__count $__n $__bad"'
	} >"$dir/script.sh"
	nats_start || { not_ok "$name: no nats-server for NATS_URL"; return; }
	port=$($FREEPORT)
	t0=$(date +%s%N)
	(
		cd "$dir/work" || exit 1
		unset IF_HOME XDG_CONFIG_HOME
		unset IF_GOVERNOR_CAPABILITIES
		HOME="$dir/home" PATH="$BIN_DIR:$PATH" IF_SERVER_PORT=$port NATS_URL=$NATS_URL \
			EXAMPLES_TIME=${EXAMPLES_TIME:-} \
			bash "$dir/script.sh"
	) >"$dir/log" 2>&1
	[ -n "${EXAMPLES_TIME:-}" ] && grep '^time ' "$dir/log" &&
		echo "time $name: $((($(date +%s%N) - t0) / 1000000)) ms"
	kill "$NATS_PID" 2>/dev/null
	# stop whatever the page started: every local server under its home
	for pid in $(find "$dir/home" -name nats.pid 2>/dev/null); do
		IF_HOME=$(dirname "$(dirname "$pid")") HOME="$dir/home" "$IFCTL" down -q >/dev/null 2>&1
	done
	n=$(sed -n 's/^__count \([0-9]*\) .*/\1/p' "$dir/log")
	bad=$(sed -n 's/^__count [0-9]* \([0-9]*\)$/\1/p' "$dir/log")
	if [ -z "$n" ]; then
		not_ok "$name: the examples did not finish: $(tail -5 "$dir/log")"
	elif [ "$bad" != 0 ]; then
		not_ok "$name: $bad of $n examples failed:
$(grep -v '^__count' "$dir/log")"
	else
		ok
	fi
	TOTAL=$((TOTAL + ${n:-0}))
	PAGES=$((PAGES + 1))
}

for f in man/*.[157]; do
	# a page that only includes another (.so) has no examples of its own
	head -1 "$f" | grep -q '^\.so ' && continue
	run_page "$f" man "$f"
done
run_page README.md md README.md
"$IFCTL" help workflows >"$T_DIR/workflows.txt"
run_page "ifctl help workflows" help "$T_DIR/workflows.txt"

[ -n "${EXAMPLES_ONLY:-}" ] && { echo "t-examples: $TOTAL examples run from $PAGES pages"; finish; exit; }
# Every command page shows at least two examples, and the examples ran.
for f in man/ifctl-*.1; do
	head -1 "$f" | grep -q '^\.so ' && continue
	c=$(awk -v mode=man -v src=x -f tools/doc-examples.awk "$f" | grep -c '^__ex ')
	[ "$c" -ge 2 ] && ok || not_ok "$f: $c runnable examples, want 2 or more"
done
check "[ $TOTAL -ge 60 ]"
echo "# $TOTAL examples run from $PAGES pages (man pages, README, help workflows)"
finish
