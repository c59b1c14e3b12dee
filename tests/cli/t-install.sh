# make install to a temporary DESTDIR gives a working ifctl and 'if', man
# pages 'man' finds through MANPATH, completions, schemas and themes; make
# uninstall removes exactly what install put there.
. "$(dirname "$0")/lib.sh"
D="$T_DIR/dest"
P=/opt/ifctl-test
MK="make --no-print-directory -s BUILD=$BUILD DESTDIR=$D PREFIX=$P"

LAST="make install"
$MK install >"$OUT" 2>"$ERR" && ok || not_ok "$LAST"
B="$D$P/bin"
LAST="installed ifctl version"
"$B/ifctl" version -o json >"$OUT" 2>"$ERR" && ok || not_ok "$LAST"
out_has '"ifctl":"[0-9.]+"'
LAST="installed if (a link to ifctl)"
"$B/if" --version >"$OUT" 2>"$ERR" && ok || not_ok "$LAST"
check "[ -L '$B/if' ] && [ \"\$(readlink '$B/if')\" = ifctl ]"
# every page, where man looks for it
for f in man/*.[157]; do
	s=${f##*.}
	check "[ -f '$D$P/share/man/man$s/$(basename "$f")' ]"
done
LAST="man ifctl through MANPATH"
MANPATH="$D$P/share/man" man -w ifctl >"$OUT" 2>"$ERR" && ok || not_ok "$LAST"
out_has "^$D$P/share/man/man1/ifctl.1"
MANPATH="$D$P/share/man" MANWIDTH=80 man ifctl-protocol >"$OUT" 2>"$ERR"
out_has 'if\.v1\.evt\.task\.<state>'
MANPATH="$D$P/share/man" MANWIDTH=80 man ifctl-down >"$OUT" 2>"$ERR"
out_has '^NAME'
# completions that the shells read, schemas, themes
check "bash -n '$D$P/share/bash-completion/completions/ifctl'"
check "grep -q 'complete' '$D$P/share/bash-completion/completions/ifctl'"
check "[ -s '$D$P/share/zsh/vendor-completions/_ifctl' ] && [ -s '$D$P/share/fish/vendor_completions.d/ifctl.fish' ]"
check "[ -f '$D$P/share/ifctl/schemas/help.schema.json' ] && [ -f '$D$P/share/ifctl/schemas/task-record.schema.json' ]"
check "[ \$(ls '$D$P/share/ifctl/schemas' | wc -l) = \$(ls schemas/*.json | wc -l) ]"
for t in themes/*.yaml; do
	[ -f "$t" ] || continue
	check "[ -f '$D$P/share/ifctl/themes/$(basename "$t")' ]"
done
(cd "$D" && find . ! -type d | sort) >"$T_DIR/installed"
echo "# $(wc -l <"$T_DIR/installed") files installed and uninstalled"

# uninstall leaves no file behind, and only what install made is touched
touch "$D$P/bin/someone-elses"
LAST="make uninstall"
$MK uninstall >"$OUT" 2>"$ERR" && ok || not_ok "$LAST"
(cd "$D" && find . ! -type d | sort) >"$T_DIR/left"
check "[ \"\$(cat '$T_DIR/left')\" = './opt/ifctl-test/bin/someone-elses' ]"
finish
