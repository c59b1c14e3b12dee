# fixtures/ is one shared set: every file in it is read by a test, a bench
# or a page of the manual (a fuzz corpus as its directory), and
# fixtures/README.md names every entry.
. "$(dirname "$0")/lib.sh"

users="tests bench man README.md"
# tree_used DIR: DIR or a directory above it (up to fixtures/A/B, a swarm's
# code tree read whole by 'swarm spawn --dir' or 'swarm detect') is named.
tree_used() {
	d=$1
	while [ "$(printf '%s' "$d" | tr -cd / | wc -c)" -ge 2 ]; do
		# (a man page writes '-' as '\-')
		re=$(printf '%s' "$d" | sed 's/[.]/\\./g; s/-/\\\\?-/g')
		grep -rqE -- "$re([^A-Za-z0-9_./-]|\$)" $users 2>/dev/null && return 0
		d=$(dirname "$d")
	done
	return 1
}
# built_used FILE: a chassis fixture's source is used when what 'make
# chassis-fixtures' builds from it (build/fixtures/chassis/NAME[.wasm]) is.
built_used() {
	case $1 in fixtures/chassis/*) ;; *) return 1 ;; esac
	stem=$(basename "${1%.*}")
	grep -rqE -- "(FIX|chassis)/$stem(\.wasm)?([^A-Za-z0-9_-]|\$)" $users 2>/dev/null
}
for f in $(find fixtures -type f ! -path 'fixtures/fuzz/*' ! -name README.md | sort); do
	base=$(basename "$f")
	dir=$(dirname "$f")
	# the file by name, or its directory with a pattern (mkledger writes witness/*)
	if grep -rqF -- "$base" $users 2>/dev/null || grep -rqF -- "${f%.*}" $users 2>/dev/null ||
	   grep -rqE -- "$dir/(\\\$|%s|\\*|\")" $users 2>/dev/null || tree_used "$dir" ||
	   built_used "$f"; then ok
	else not_ok "$f is used by no test, bench or page"; fi
done
for d in $(find fixtures/fuzz -mindepth 1 -maxdepth 1 -type d); do
	grep -rqF "fuzz" tests/fuzz/run-fuzz.sh tests/cli/t-fuzz-regress.sh 2>/dev/null && ok ||
		not_ok "$d: no fuzz runner reads it"
done
for e in $(ls fixtures); do
	[ "$e" = README.md ] && continue
	grep -qF "\`$e" fixtures/README.md && ok || not_ok "fixtures/README.md does not describe $e"
done
finish
