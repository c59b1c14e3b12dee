#!/bin/sh
# The layering rules of STYLE.md, checked on every 'make check':
#  - core never prints to stdout, never exits, never includes curses;
#  - the benchmarks (src/bench) neither; only commands include them, so
#    libcore.a holds what the product does;
#  - only src/tui's terminal layer includes curses;
#  - nats.c, cJSON, libyaml and SQLite are called only from their wrappers
#    (nats.c: the bus files, through bus-int.h).
status=0
bad() { echo "layering: $*" >&2; status=1; }

hits=$(grep -nE '\b(printf|puts|putchar|exit|abort)\s*\(' src/core/*.c src/bench/*.c | grep -v xalloc)
[ -n "$hits" ] && bad "src/core or src/bench prints or exits:
$hits"
hits=$(grep -lE '#include "bench/' src/*/*.[ch] | grep -vE '^src/(bench|cmd)/')
[ -n "$hits" ] && bad "only commands include the benchmarks: $hits"
hits=$(grep -lE '#include <(n?curses|ncursesw/curses)\.h>' src/core/*.[ch] src/cmd/*.[ch] 2>/dev/null)
[ -n "$hits" ] && bad "curses outside src/tui: $hits"
allowed_nats='src/core/bus-int.h src/core/version.c'
for f in $(grep -lE '#include <nats/nats.h>' src/*/*.[ch]); do
	case " $allowed_nats " in *" $f "*) ;; *) bad "$f includes nats.h (use core/bus.h)";; esac
done
for f in $(grep -lE '#include <cjson/cJSON.h>' src/*/*.[ch]); do
	case "$f" in src/core/*) ;; *) bad "$f includes cJSON (use core/json.h)";; esac
done
for f in $(grep -lE '#include <yaml.h>' src/*/*.[ch]); do
	case "$f" in src/core/yamlx.c|src/core/version.c) ;; *) bad "$f includes yaml.h (use core/yamlx.h)";; esac
done
for f in $(grep -lE '#include <sqlite3.h>' src/*/*.[ch]); do
	case "$f" in src/core/*) ;; *) bad "$f includes sqlite3.h (use the store wrapper)";; esac
done
exit $status
