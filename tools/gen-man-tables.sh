#!/bin/sh
# Rewrite the table sections of man/ifctl-errors.7 (CATALOGUE) and
# man/ifctl-config.5 (KEYS) from the tables compiled into ifctl, so the pages
# follow the code. tests/cli/t-docs.sh fails when they disagree; run this
# after changing the status or config table:  tools/gen-man-tables.sh [BUILD]
set -eu
IFCTL=${1:-build}/ifctl

# replace_section FILE HEADING: stdin becomes the body of .SH HEADING.
replace_section() {
	awk -v h=".SH $2" -v body="$(cat)" '
		$0 == h { print; print body; skip = 1; next }
		skip && /^\.SH / { skip = 0 }
		!skip { print }' "$1" >"$1.tmp"
	mv "$1.tmp" "$1"
}

"$IFCTL" help errors -o tsv --no-headers | awk -F'\t' '
	function esc(s) { gsub(/\\/, "\\\\", s); gsub(/-/, "\\-", s); return s }
	BEGIN { print "Each entry: catalogue name, exit code, summary; then the remedy shown." }
	{ printf ".TP\n.BR %s \" (exit %s)\"\n%s.\n.br\nRemedy: %s.\n", $1, $2, $3, esc($4) }' |
	replace_section man/ifctl-errors.7 CATALOGUE

"$IFCTL" config show --defaults -o tsv --no-headers | awk -F'\t' '
	function esc(s) { gsub(/\\/, "\\\\", s); gsub(/-/, "\\-", s); return s }
	BEGIN { print "Each key: type, default, bounds, environment variable, meaning." }
	{ printf ".TP\n.B %s\n%s, default \\(lq%s\\(rq%s; environment\n.BR %s .\n%s.\n",
	  esc($1), $4, esc($2), ($6 != "" ? ", " esc($6) : ""), $5, esc($7) }' |
	replace_section man/ifctl-config.5 KEYS
