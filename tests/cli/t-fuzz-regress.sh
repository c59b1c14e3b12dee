# Every input the fuzzers ever broke stays fixed: each file under
# fixtures/fuzz/regress/<target>/ is replayed through the same target
# (tests/fuzz/fuzz-<target>.c) linked with a plain driver instead of
# libFuzzer, built like every other test (with SANITIZE= sanitizers too).
# It must run to the end: no abort, no sanitizer report, no hang (20 s).
#
# fixtures/fuzz/regress/pending lists inputs whose fix has not landed yet,
# one a line: "<target>/<file> <needs> <what fails>". needs names what a
# build must have to see the failure: any, asan, ubsan or float-cast (only
# clang's -fsanitize=float-cast-overflow reports an out-of-range cast). In a
# build that has it, a pending input must still fail, so that a fix is
# noticed and its line removed; every other input must pass.
. "$(dirname "$0")/lib.sh"

REGRESS=fixtures/fuzz/regress
PENDING=$REGRESS/pending
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Is target/file listed as pending? Sets NEEDS to its needs column.
pending() {
	NEEDS=$(awk -v id="$1" '$1 == id { print $2; found = 1 } END { exit !found }' \
		"$PENDING" 2>/dev/null)
}

# Does this build's target binary have what a pending line needs to fail?
sees() {
	case $2 in
	any) return 0 ;;
	asan) sym=__asan_init ;;
	ubsan) sym=__ubsan_handle_ ;;
	float-cast) sym=__ubsan_handle_float_cast_overflow ;;
	*) return 1 ;;
	esac
	nm "$BUILD/tests/fuzz-$1" 2>/dev/null | grep -q "$sym"
}

# replay TARGET FILE: run one input; the exit status says whether it passed.
replay() {
	LAST="fuzz-$1 $2"
	# A subshell, so that the shell's own "Aborted" notice goes nowhere.
	(timeout 20 "$BUILD/tests/fuzz-$1" "$2" >"$OUT" 2>"$ERR"; rc=$?; exit $rc) 2>/dev/null
}

n=0
for dir in "$REGRESS"/*/; do
	target=$(basename "$dir")
	if [ ! -x "$BUILD/tests/fuzz-$target" ]; then
		not_ok "no fuzz target '$target' for $dir (tests/fuzz/fuzz-$target.c)"
		continue
	fi
	for input in "$dir"*; do
		[ -f "$input" ] || continue
		n=$((n + 1))
		id="$target/$(basename "$input")"
		if replay "$target" "$input"; then
			if ! pending "$id"; then
				ok
			elif sees "$target" "$NEEDS"; then
				not_ok "$id passes now: remove its line from $PENDING"
			else
				echo "pending: $id (this build lacks $NEEDS)" >&2
				ok
			fi
		elif pending "$id"; then
			echo "pending: $id" >&2
			ok
		else
			not_ok "$LAST: $(grep -m1 -E 'invariant broken|runtime error|ERROR:' "$ERR")"
		fi
	done
done
# Every pending line names an input that exists.
if [ -f "$PENDING" ]; then
	while read -r id needs _; do
		case $id in ''|'#'*) continue ;; esac
		if [ -f "$REGRESS/$id" ]; then ok; else not_ok "$PENDING names '$id', not a file"; fi
		case $needs in
		any|asan|ubsan|float-cast) ok ;;
		*) not_ok "$PENDING: '$id' needs '$needs' (any, asan, ubsan or float-cast)" ;;
		esac
	done <"$PENDING"
fi
check '[ "$n" -gt 0 ]'
finish
