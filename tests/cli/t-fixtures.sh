# fixtures/ is one shared set: every file in it is read by a test, a bench
# or a page of the manual (a fuzz corpus as its directory), and
# fixtures/README.md names every entry.
. "$(dirname "$0")/lib.sh"

users="tests bench man README.md"
for f in $(find fixtures -type f ! -path 'fixtures/fuzz/*' ! -name README.md | sort); do
	base=$(basename "$f")
	dir=$(dirname "$f")
	# the file by name, or its directory with a pattern (mkledger writes witness/*)
	if grep -rqF -- "$base" $users 2>/dev/null || grep -rqF -- "${f%.*}" $users 2>/dev/null ||
	   grep -rqE -- "$dir/(\\\$|%s|\\*|\")" $users 2>/dev/null; then ok
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
