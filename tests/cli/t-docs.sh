# The documentation agrees with the tables the binary runs on.
. "$(dirname "$0")/lib.sh"

roff() { printf '%s' "$1" | sed 's/-/\\-/g'; }

# Error catalogue == ifctl-errors(7); every exit code is in ifctl(1) EXIT STATUS.
exit_section=$(sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' man/ifctl.1)
"$IFCTL" help errors -o tsv --no-headers >"$T_DIR/errors"
check "[ \$(wc -l <'$T_DIR/errors') -ge 20 ]"
while IFS="$(printf '\t')" read -r code code_exit summary remedy; do
	grep -qF ".BR $code \" (exit $code_exit)\"" man/ifctl-errors.7 && ok ||
		not_ok "ifctl-errors.7 lacks '$code' with exit $code_exit"
	grep -qF "$(roff "$remedy")" man/ifctl-errors.7 && ok ||
		not_ok "ifctl-errors.7 lacks the remedy of '$code'"
	printf '%s\n' "$exit_section" | grep -qx ".B $code_exit" && ok ||
		not_ok "ifctl.1 EXIT STATUS lacks exit code $code_exit ($code)"
done <"$T_DIR/errors"
# ...and the man pages document no exit code the table lacks.
for c in $(printf '%s\n' "$exit_section" | sed -n 's/^\.B \([0-9][0-9]*\)$/\1/p'); do
	cut -f2 "$T_DIR/errors" | grep -qx "$c" && ok || not_ok "ifctl.1 documents exit $c, the table has none"
done

# Config key table == ifctl-config(5).
"$IFCTL" config show --defaults -o tsv --no-headers >"$T_DIR/keys"
awk -F'\t' '{ print $1 "\t" $5 }' "$T_DIR/keys" | while IFS="$(printf '\t')" read -r key env; do
	grep -qxF ".B $(roff "$key")" man/ifctl-config.5 && ok || not_ok "ifctl-config.5 lacks key $key"
	grep -qF ".BR $env ." man/ifctl-config.5 && ok || not_ok "ifctl-config.5 lacks $env"
done

# Every command has a man page, a README entry and appears in ifctl(1).
for c in $("$IFCTL" completion bash | sed -n 's/^        "") words="\(.*\)";;$/\1/p'); do
	[ -f "man/ifctl-$c.1" ] && ok || not_ok "no man/ifctl-$c.1"
	grep -q "^\.B $c\b" man/ifctl.1 && ok || not_ok "ifctl.1 lacks command $c"
	grep -q "ifctl $c" README.md && ok || not_ok "README lacks 'ifctl $c'"
done

# Global options in --help are the ones ifctl(1) documents.
for o in $("$IFCTL" --help | sed -n 's/^  \(-., \)\{0,1\}--\([a-z-]*\).*/\2/p'); do
	grep -qF "\\-\\-$(roff "$o")" man/ifctl.1 && ok || not_ok "ifctl.1 lacks --$o"
done

finish
