# ifctl up --cluster: a local 3-node cluster started, shown and stopped, and
# every bad input refused with one clear error and nothing left running:
# a size other than 3 or 5, a port taken, a node that will not start,
# replicas a server cannot hold. (Failures under load: tests/integ/test-cluster.c.)
. "$(dirname "$0")/lib.sh"

# Node K takes port + K - 1, + 2000 and + 4000: a base with room below 61536.
export IF_SERVER_PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 9000))
N="$IF_HOME/nats"
# no_node: no nats-server runs with a config of this home.
no_node() { check "! pgrep -f '^nats-server -c $N/' >/dev/null"; }

run 2 up --cluster 2
err_is_one_error
err_has "--cluster 2: a local cluster has 3 or 5 nodes"
no_node
run 2 up --cluster 9
err_has "--cluster 9"
run 2 up --cluster 3 --auth
err_has "neither --auth nor --schema-only"
run 2 up --replicas 3
err_has "--replicas needs --schema-only"
run 8 up --cluster 4 --mode=falsify
out_has '^cluster size +fail'

# A port of node 2 taken by another program: nothing starts.
python3 -c "
import socket, time, sys
s = socket.socket(); s.bind(('127.0.0.1', $IF_SERVER_PORT + 2001)); s.listen(1)
open('$T_DIR/listening', 'w').close(); time.sleep(60)" &
LPID=$!
T_PIDS="$T_PIDS $LPID"
while [ ! -e "$T_DIR/listening" ]; do sleep 0.05; done
run 1 up --cluster 3
err_is_one_error
err_has "node 2: port $((IF_SERVER_PORT + 2001)) on 127.0.0.1 is in use"
err_has '\[port-in-use\]'
no_node
# Stopped and reaped here, and no longer the cleanup's: a pid is soon reused.
kill "$LPID" 2>/dev/null
wait "$LPID" 2>/dev/null
T_PIDS=${T_PIDS% $LPID}

# A node that will not start (a binary that exits at once): the others are stopped.
printf '#!/bin/sh\ncase "$3" in *node2*) exit 3;; esac\nexec nats-server "$@"\n' >"$T_DIR/flaky"
chmod +x "$T_DIR/flaky"
IF_SERVER_BINARY="$T_DIR/flaky" run 1 up --cluster 3
err_has '\[server-start\]'
no_node
check "[ ! -e '$N/cluster' ]"

# A real cluster: up, status (every node, the meta leader, each stream's replicas), down.
run 0 up --cluster 3 -o json
out_has '"nodes":\[\{"node":1,"name":"node1","url":"nats://127.0.0.1:'"$IF_SERVER_PORT"'","state":"started"'
check "[ \"\$(stat -c %a '$N/node1/nats.conf')\" = 600 ]"
check "grep -q 'nats-route://127.0.0.1:$((IF_SERVER_PORT + 2002))' '$N/node1/nats.conf'"
run 0 up --cluster 3
out_has 'already running'
run 1 up
err_has '\[server-running\]'
run 0 status -o json
"$BUILD/tests/schemacheck" schemas/status.schema.json <"$OUT" >/dev/null 2>&1 && ok || not_ok "status -o json: not the status schema"
out_has '"role":"leader"'
out_has '"name":"IF_TASKS","replicas":3,"leader":"ifctl-[^"]*-n[123]","current":3'
run 0 task push --title on-a-cluster -q
# Replicas the servers cannot hold: 5 on 3 nodes, and 3 on a server alone.
run 2 up --schema-only --replicas 5
err_has '5 replicas need a cluster of at least 5'
nats_start
run 2 up --schema-only --replicas 3 --server "$NATS_URL"
err_has 'the server runs alone'
# A killed node: status warns, up starts it again, and it catches up.
kill -9 "$(cat "$N/node3/nats.pid")"
run 0 status
err_has 'warning: 1 of the local cluster.s 3 nodes are not running'
run 0 up --cluster 3
out_has 'node3 .*started'
run 0 down -o json
out_has '"state":"stopped"'
no_node
check "[ ! -e '$N/cluster' ]"
finish
