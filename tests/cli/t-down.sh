# ifctl down stops only the nats-server 'ifctl up' started: the pid file must
# name a live process with the start time and executable recorded at 'up'
# (nats.ident) and exactly the argument vector 'nats-server -c CONF'.
. "$(dirname "$0")/lib.sh"

N="$IF_HOME/nats"
# spawn CMD...: start a process that lives until the test ends; sets P.
spawn() { "$@" >/dev/null 2>&1 & P=$!; T_PIDS="$T_PIDS $P"; }
# refuses WHAT: 'down' refuses pid $P, leaves it running and the pid file in place.
refuses() {
	echo "$P" >"$N/nats.pid"
	run 7 down
	err_is_one_error
	err_has "refusing to stop pid $P named in '.*nats.pid': $1"
	err_has '\[not-ours\]'
	check "alive $P"
	check "[ \"\$(cat '$N/nats.pid')\" = $P ]"
	run 8 down --mode=falsify
	out_has '^server is ours +fail'
}

run 0 up
out_has '^state: +started'
srv=$(cat "$N/nats.pid")
check "[ \"\$(stat -c %a '$N/nats.ident')\" = 600 ]"
cp "$N/nats.ident" "$T_DIR/ident"
check "grep -q '^pid $srv\$' '$N/nats.ident'"
# nats-server's own files are private too (it runs under umask 077).
check "[ \"\$(stat -c %a '$N/nats.pid')\" = 600 ]"
check "[ \"\$(stat -c %a '$N/nats.log')\" = 600 ]"

# A process that carries nats.conf in its command line is not the server.
spawn tail -f "$N/nats.conf"
refuses "its pid or start time is not the one recorded"
# Even with the ident rewritten to name it: its executable is not nats-server.
sed -i "s/^pid .*/pid $P/; s/^start .*/start $(cut -d')' -f2 /proc/$P/stat | cut -d' ' -f21)/" "$N/nats.ident"
refuses "its executable is not the nats-server 'up' started"
# A nats-server of another home whose path ends with this one's.
bin=$(command -v nats-server || echo /usr/sbin/nats-server)
mkdir -p "$T_DIR/x$IF_HOME/nats"
port=$($FREEPORT)
printf 'listen: "127.0.0.1:%s"\n' "$port" >"$T_DIR/x$IF_HOME/nats/nats.conf"
spawn "$bin" -c "$T_DIR/x$IF_HOME/nats/nats.conf"
check "alive $P"
start=$(cut -d')' -f2 "/proc/$P/stat" | cut -d' ' -f21)
sed -i "s/^pid .*/pid $P/; s/^start .*/start $start/" "$N/nats.ident"
refuses "its arguments are not exactly 'nats-server -c' with this home's nats.conf"
# A stale pid reused by another process: start time and executable differ.
echo "$srv" >"$N/nats.pid"
cp "$T_DIR/ident" "$N/nats.ident"
run 0 down
out_has '^state: +stopped'
check "! alive $srv"
mkdir -p "$N"
spawn sleep 300
: >"$N/nats.ident"
printf 'pid %s\nstart 1\nexe 1 1\n' "$P" >"$N/nats.ident"
refuses "its pid or start time is not the one recorded"
rm -f "$N/nats.ident"
refuses "there is no record of the server 'ifctl up' started"
check "alive $P"

# The real server still stops, and then nothing is left to stop.
rm -f "$N/nats.pid"
run 0 up
srv=$(cat "$N/nats.pid")
run 0 down
out_has '^state: +stopped'
check "! alive $srv"
check "[ ! -e '$N/nats.pid' ] && [ ! -e '$N/nats.ident' ]"
run 0 down
out_has '^state: +not running'

finish
