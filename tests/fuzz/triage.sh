#!/bin/sh
# Group the crashing inputs of a target by what failed: the broken
# invariant or sanitizer report and the first frame in ifctl's code. Prints
# one line per group: count, smallest input, signature.
# Usage: tests/fuzz/triage.sh BUILD NAME
set -u
BUILD=$1 NAME=$2
dir=$BUILD/crashes/$NAME
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
tmp=$(mktemp)
for f in "$dir"/*; do
	[ -f "$f" ] || continue
	log=$("$BUILD/fuzz-$NAME" -rss_limit_mb=2048 -timeout=10 "$f" 2>&1)
	what=$(printf '%s\n' "$log" | grep -m1 -E 'invariant broken|runtime error|ERROR: ' |
		sed -E 's/^.*(invariant broken|runtime error|ERROR: )/\1/; s/\b[0-9][0-9.e+]*/N/g;
			s/0xN[0-9a-f]*/ADDR/g' | cut -c1-110)
	frame=$(printf '%s\n' "$log" | grep -m1 -E '^ *#[0-9]+ .* in [a-zA-Z_].* [^ ]*/src/' |
		sed -E 's/.* in ([a-zA-Z_0-9]+) .*\/(src\/[^: ]*(:[0-9]+)?).*/\1 \2/')
	[ -n "$what" ] || what="passes now"
	printf '%s\t%s\t%s | %s\n' "$(wc -c <"$f")" "$f" "$what" "$frame" >>"$tmp"
done
sort -t "$(printf '\t')" -k3,3 -k1,1n "$tmp" |
	awk -F '\t' '{ n[$3]++; if (!($3 in first)) { first[$3] = $2; order[++k] = $3 } }
		END { for (i = 1; i <= k; i++) printf "%5d  %s  %s\n", n[order[i]], first[order[i]], order[i] }'
rm -f "$tmp"
