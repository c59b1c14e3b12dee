#!/bin/sh
# Run each libFuzzer target for FUZZ_SECONDS on a copy of its seeds and
# print, per target, the executions and the coverage libFuzzer reached (its
# final "#N DONE cov: X ft: Y" line). A crash, leak, sanitizer report,
# timeout or memory blow-up keeps the input under BUILD/crashes/<name>/ and
# makes the run fail; every target runs either way.
# FUZZ_ARGS adds libFuzzer options (e.g. "-fork=1 -ignore_crashes=1" to go
# on past crashes and collect them all).
# Usage: tests/fuzz/run-fuzz.sh BUILD NAME...
set -u
BUILD=$1; shift
SECONDS_EACH=${FUZZ_SECONDS:-60}
RSS_MB=${FUZZ_RSS_MB:-2048}
failed=""

# Longest input per target: a line or a record, a whole export, a config.
max_len() {
	case $1 in
	json|task|wentry) echo 16384 ;;
	note) echo 4096 ;;
	ledger) echo 65536 ;;
	config) echo 16384 ;;
	*) echo 8192 ;;
	esac
}

# Dictionary: JSON tokens and field names for the JSON readers.
dict_of() {
	case $1 in
	json|task|wentry|ledger) echo "-dict=tests/fuzz/json.dict" ;;
	*) [ -f "tests/fuzz/$1.dict" ] && echo "-dict=tests/fuzz/$1.dict" ;;
	esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for name in "$@"; do
	corpus=$BUILD/corpus/$name
	crashes=$BUILD/crashes/$name
	log=$BUILD/fuzz-$name.log
	mkdir -p "$corpus" "$crashes"
	dict=$(dict_of "$name")
	# shellcheck disable=SC2086
	"$BUILD/fuzz-$name" -max_total_time="$SECONDS_EACH" -max_len="$(max_len "$name")" \
		-rss_limit_mb="$RSS_MB" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$crashes/" $dict ${FUZZ_ARGS:-} "$corpus" "fixtures/fuzz/$name" \
		>"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	# The last status line: "#N DONE cov: X ft: Y ..." ("#N: cov: ..." with -fork).
	done_line=$(grep -E '^#[0-9]+:?[[:space:]]+(DONE|cov:)' "$log" | tail -n 1)
	[ -n "$execs" ] || execs=$(printf '%s' "$done_line" | sed -nE 's/^#([0-9]+).*/\1/p')
	if [ "$rc" -eq 0 ] && [ -n "$done_line" ]; then
		echo "fuzz-$name: ${execs:-?} executions in ${SECONDS_EACH}s; $done_line"
	else
		last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
		echo "fuzz-$name: FAILED (exit $rc) after ${execs:-?} executions; last: $last"
		# What failed, and the top of the stack in ifctl's own code.
		grep -E 'ERROR: |runtime error|invariant broken' "$log" | head -n 3 |
			sed 's/^/    /'
		grep -E '^ *#[0-9]+ .* in [a-zA-Z_].* [^ ]*/(src|tests)/' "$log" | head -n 3 |
			sed 's/^ */    /'
		grep -E 'Test unit written' "$log" | head -n 3 | sed 's/^.*written to /    input: /'
		echo "    log: $log"
		failed="$failed $name"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: failed:$failed (inputs under $BUILD/crashes/)"
	exit 1
fi
echo "fuzz: $# targets, no crash"
