# The error catalogue is complete: every status the source can raise (each
# ST_<NAME> used anywhere in src/ outside the table itself) is a row of the
# status table, documented in ifctl-errors(7) with its exit code, summary
# and remedy, and listed by 'ifctl help errors'. A new status used without
# its catalogue entry fails here (and t-docs.sh checks the texts agree).
. "$(dirname "$0")/lib.sh"

# symbol -> catalogue name, from the X-macro table in status.h
sed -n 's/^[[:space:]]*X(\([A-Z0-9_]*\), "\([a-z-]*\)".*/\1 \2/p' src/core/status.h >"$T_DIR/table"
check "[ \$(wc -l <'$T_DIR/table') -ge 30 ]"
"$IFCTL" help errors -o tsv --no-headers | cut -f1 >"$T_DIR/listed"

# every ST_ symbol the program uses
grep -rhoE '\bST_[A-Z][A-Z0-9_]*' src --include=*.c --include=*.h |
	grep -v '^ST__COUNT$' | sort -u | sed 's/^ST_//' >"$T_DIR/raised"
check "[ \$(wc -l <'$T_DIR/raised') -ge 30 ]"
n=0
while read -r sym; do
	n=$((n + 1))
	name=$(awk -v s="$sym" '$1 == s { print $2 }' "$T_DIR/table")
	if [ -z "$name" ]; then
		not_ok "ST_$sym is used in src/ but is not in STATUS_TABLE"
		continue
	fi
	grep -qx "$name" "$T_DIR/listed" && ok || not_ok "'ifctl help errors' lacks $name"
	# the entry in the catalogue: name and exit, a summary line, a remedy line
	awk -v n="$name" '
		$0 ~ "^\\.BR " n " \"" { found = 1; getline s; getline br; getline r
			if (s != "" && s !~ /^\./ && r ~ /^Remedy: ./) ok = 1 }
		END { exit !(found && ok) }' man/ifctl-errors.7 && ok ||
		not_ok "ifctl-errors.7 has no complete entry (exit, summary, remedy) for $name (ST_$sym)"
done <"$T_DIR/raised"
# what the table has but no code raises (kept for stability: numbers never change)
unused=$(cut -d' ' -f1 "$T_DIR/table" | while read -r s; do
	grep -qx "$s" "$T_DIR/raised" || printf ' %s' "$s"; done)
echo "# $n statuses raised in src/, all catalogued${unused:+; in the table, raised nowhere:$unused}"

# Situation remedies are one line each, and replace the catalogue's only.
grep -rn 'err_remedy(' src --include=*.c | grep -v 'src/core/status.c' >"$T_DIR/sites"
check "[ \$(wc -l <'$T_DIR/sites') -ge 3 ]"
finish
