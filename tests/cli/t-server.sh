# ifctl up, status, down against real nats-servers on free loopback ports.
. "$(dirname "$0")/lib.sh"

# Read-only refuses to start anything.
run 7 up --read-only
err_is_one_error
err_has '\[read-only\]'
check "[ ! -e '$IF_HOME/nats/nats.pid' ]"

# Falsify evaluates the checks and writes nothing.
run 0 up --mode=falsify
out_has '^port available +pass'
check "[ ! -e '$IF_HOME/nats' ]"

run 0 up
out_has '^state: +started'
out_has '^stream +IF_WITNESS +created'
out_has '^bucket +IF_TASKS +created'
pid=$(cat "$IF_HOME/nats/nats.pid")
check "alive $pid"
check "[ \"\$(stat -c %a '$IF_HOME/nats/nats.conf')\" = 600 ]"

# Twice is safe: same server, nothing recreated.
run 0 up -o json
out_json
out_has '"state":"already running"'
out_has "\"pid\":$pid"
out_lacks '"created"'

run 0 status
out_has '^state: +connected'
out_has '^jetstream: +true'
out_has '^bucket +IF_CREDS +ok'
run 0 status -o json --why
out_json
out_has '"why":\['
out_has '"rtt_ms":[0-9.]+'
run 0 status -o jsonl
out_jsonl
run 0 status -o yaml
out_has '^resources:'
out_has '^  - kind: stream'
run 0 status -o csv
out_has '^kind,name,state,messages,bytes,consumers,description'
run 0 status -o wide
out_has 'DESCRIPTION'
out_has '^local_pid: +[0-9]+'

# A port taken by another program: a clear error, nothing started.
nats_start
IF_HOME="$T_DIR/home2" IF_SERVER_PORT=$NATS_PORT run 1 up
err_is_one_error
err_has "port $NATS_PORT on 127.0.0.1 is in use by another program"
err_has '\[port-in-use\]'
check "[ ! -e '$T_DIR/home2/nats/nats.pid' ]"
IF_HOME="$T_DIR/home2" IF_SERVER_PORT=$NATS_PORT run 8 up --mode=falsify
out_has '^port available +fail +port'
err_has '\[falsified\]'

# 'down' with another home does not touch a server it did not start.
IF_HOME="$T_DIR/home2" IF_SERVER_PORT=$NATS_PORT run 0 down
out_has '^state: +not running'
check "alive $NATS_PID"

# A remote server: create the schema without starting anything.
run 0 status --server "$NATS_URL"
err_has 'missing'
out_has '^stream +IF_QUEUE +missing'
run 0 up --schema-only --server "$NATS_URL"
out_has '^stream +IF_QUEUE +created'
run 0 status --server "$NATS_URL" -q
out_lacks 'missing'

# Stop ours; a second stop is a no-op; status then fails with exit 6.
run 0 down
out_has '^state: +stopped'
check "! alive $pid"
check "[ ! -e '$IF_HOME/nats/nats.pid' ]"
run 0 down
out_has 'not running'
IF_NATS_TIMEOUT_MS=300 run 6 status
err_is_one_error

# Data survives a restart.
run 0 up
out_has '^stream +IF_QUEUE +exists'
run 0 down

# Authentication: the right password connects, a wrong one is exit 7.
port=$($FREEPORT)
bin=$(command -v nats-server || echo /usr/sbin/nats-server)
"$bin" -a 127.0.0.1 -p "$port" -js -sd "$T_DIR/auth" --user ops --pass right >"$T_DIR/auth.log" 2>&1 &
T_PIDS="$T_PIDS $!"
i=0; until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || [ $i -gt 500 ]; do i=$((i+1)); sleep 0.01; done
IF_NATS_USER=ops IF_NATS_PASSWORD=right run 0 status --server "nats://127.0.0.1:$port" -q
out_has '^state: +connected'
IF_NATS_USER=ops IF_NATS_PASSWORD=wrong run 7 status --server "nats://127.0.0.1:$port"
err_is_one_error
err_has 'authorization failed'
err_has '\[nats-permission\]'

# nats.conf injection: a '"' and a newline in IF_HOME or server.host cannot
# add configuration. A newline is refused (exit 2, nothing written); a quote
# is escaped, and the server runs with the home as given.
evil="$T_DIR/h\"
authorization { token: \"t\" }
#"
IF_HOME="$evil" run 2 up
err_is_one_error
err_has "home: byte [0-9]+ of the path is a control character \(0x0a\), which nats.conf cannot hold"
err_has '\[bad-value\]'
check "[ ! -e '$T_DIR/h\"' ]"
IF_HOME="$evil" run 8 up --mode=falsify
out_has '^nats.conf can hold home and server.host +fail'
IF_SERVER_HOST='127.0.0.1" authorization { token: "t" } #' run 2 up
err_is_one_error
err_has "server.host: '.*' is not a host name or an IP address"
check "! grep -q token '$IF_HOME/nats/nats.conf'"
q="$T_DIR/q\"uote\\d"
IF_HOME="$q" run 0 up
out_has '^state: +started'
check "grep -qF 'store_dir: \"$T_DIR/q\\\"uote\\\\d/nats/jetstream\"' '$q/nats/nats.conf'"
check "[ -d '$q/nats/jetstream/jetstream' ]"
IF_HOME="$q" run 0 status -q
out_has '^state: +connected'
IF_HOME="$q" run 0 down
out_has '^state: +stopped'

# Every file ifctl and its server create is 0600, even in a home that
# exists 0755 under umask 022 (index.db and its -wal and -shm included).
h3="$T_DIR/home3"
mkdir -m 755 "$h3"
umask 022
IF_HOME="$h3" run 0 up
IF_HOME="$h3" run 0 witness append --component test --event mode
IF_HOME="$h3" run 0 witness query --component test
out_has 'mode'
check "[ -e '$h3/index.db' ]"
check "[ -z \"\$(find '$h3' -type f -perm /077)\" ]"
check "[ -z \"\$(find '$h3' -mindepth 1 -type d -perm /077)\" ]"
# An index.db an older ifctl made 0644 is narrowed at the next open.
chmod 644 "$h3/index.db"
IF_HOME="$h3" run 0 witness query --component test
check "[ \"\$(stat -c %a '$h3/index.db')\" = 600 ]"

# An export killed between writing and renaming leaves F.tmp.PID behind;
# the next export removes it (and not a live writer's).
F="$T_DIR/export.jsonl"
{ sh -c 'echo partial >"$1.tmp.$$"; kill -9 $$' sh "$F"; } 2>/dev/null
dead=$(ls "$F".tmp.* | head -1)
sleep 300 & live=$!; T_PIDS="$T_PIDS $live"
echo busy >"$F.tmp.$live"
IF_HOME="$h3" run 0 witness export --file "$F"
check "[ ! -e '$dead' ] && [ -e '$F.tmp.$live' ]"
check "grep -q '\"event\":\"mode\"' '$F'"
check "[ \"\$(ls '$T_DIR' | grep -c 'export.jsonl.tmp')\" = 1 ]"
IF_HOME="$h3" run 0 down

# A server binary that does not exist.
IF_SERVER_BINARY=/nonexistent/nats-server run 1 up
err_has "'/nonexistent/nats-server' not found"
err_has '\[no-program\]'

finish
