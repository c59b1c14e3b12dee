# Extract the runnable examples of a man page, the README or help text as a
# bash script for tests/cli/t-examples.sh. The convention (ifctl-workflows(7)
# EXAMPLES IN THIS MANUAL says it for readers):
#
#   man pages   inside .EX/.EE, a line "$ COMMAND" is an example; a command
#               ending in a backslash goes on on the next line; the lines
#               after it, up to the next "$ " or .EE, are what it prints:
#               each must appear in its output (stdout and stderr), in that
#               order, "..." standing for any text. Blocks with no "$ " line
#               (record formats, file contents) are not examples.
#   README.md   every line of a ```sh block is an example (no output lines).
#   help text   lines "  $ COMMAND" ('ifctl help workflows').
#
# Every example must exit 0, unless its command ends with a comment
# "# exit N" (then it must exit N).
#
#   awk -v mode=man|md|help -v src=NAME -f tools/doc-examples.awk FILE
#
# prints, per example: __ex 'NAME:LINE' EXIT <<'__EXPECT' ... __EXPECT, the
# command on lines of its own, then __done $?.

function unroff(s) {
	gsub(/\\f[BIRP]/, "", s)
	gsub(/\\-/, "-", s)
	gsub(/\\\(aq/, "'", s)
	gsub(/\\\(dq/, "\"", s)
	gsub(/\\\(lq|\\\(rq/, "\"", s)
	gsub(/\\&/, "", s)
	gsub(/\\e/, "\\", s)
	return s
}

function flush_cmd() {
	if (ncmd == 0)
		return
	code = 0
	if (match(cmdtext, /#[ \t]*exit [0-9]+/)) {
		code = substr(cmdtext, RSTART, RLENGTH)
		sub(/^#[ \t]*exit /, "", code)
	}
	printf "__ex '%s:%d' %d <<'__EXPECT'\n%s__EXPECT\n", src, cmdline, code, expect
	printf "%s\n__done $?\n", cmdtext
	ncmd = 0; cmdtext = ""; expect = ""; cont = 0
}

function add_cmd(line) {
	if (ncmd == 0)
		cmdline = NR
	cmdtext = cmdtext (ncmd++ ? "\n" : "") line
	cont = line ~ /\\$/
}

mode == "man" && /^\.EX/ { inex = 1; next }
mode == "man" && /^\.EE/ { flush_cmd(); inex = 0; next }
mode == "man" && inex {
	line = unroff($0)
	if (cont) { add_cmd(line); next }
	if (line ~ /^[ \t]*\$ /) {
		flush_cmd()
		sub(/^[ \t]*\$ /, "", line)
		add_cmd(line)
	} else if (ncmd && line !~ /^[ \t]*$/) {
		expect = expect line "\n"
	}
	next
}

mode == "md" && /^```sh[ \t]*$/ { inex = 1; next }
mode == "md" && /^```/ { flush_cmd(); inex = 0; next }
mode == "md" && inex {
	if (cont) { add_cmd($0); next }
	flush_cmd()
	if ($0 !~ /^[ \t]*(#.*)?$/)
		add_cmd($0)
	next
}

mode == "help" {
	if (cont) { add_cmd($0); next }
	flush_cmd()
	if ($0 ~ /^  \$ /) {
		line = $0
		sub(/^  \$ /, "", line)
		add_cmd(line)
	}
}

END { flush_cmd() }
