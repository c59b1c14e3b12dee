# The ready queue's upkeep by an archive sweep (coord_queue_tidy): ids of
# tasks no longer ready are dropped, ids of ready ones kept in order, a
# lapsed lease announced again so a one-shot claim takes it from the queue.
. "$(dirname "$0")/lib.sh"

run 0 up -q
for i in 1 2 3 4 5 6; do run 0 task push q-$i -q; done
run 0 task cancel q-1 -q
run 0 task cancel q-2 -q
run 0 task archive -o json
out_has '"tasks":0,.*"queue_dropped":2,"queue_kept":4,"leases_announced":0'
check "$BUILD/tests/schemacheck schemas/task-moved.schema.json <'$OUT'"
# a second sweep finds nothing stale; the ready ids are still there, in order
run 0 task archive -o json
out_has '"queue_dropped":0,"queue_kept":4'
# falsify: counted, nothing dropped
run 0 task cancel q-3 -q
run 0 task archive --mode=falsify --why
out_has 'stale ids in the ready queue +pass +1 would be dropped, 3 kept'
run 0 task archive -o json
out_has '"queue_dropped":1,"queue_kept":3'
# purge has no queue upkeep: its counts are null
run 0 task purge --state dead --older-than 1d -o json
out_has '"queue_dropped":null'
check "$BUILD/tests/schemacheck schemas/task-moved.schema.json <'$OUT'"

# A lease that lapses: the one-shot claim spent q-4's id; the sweep announces
# it again (once), and a one-shot claim takes it over from the queue.
IF_COORDINATOR_LEASE_MS=200 run 0 task claim --swarm sa -o json
out_has '"id":"q-4","state":"claimed","priority":5,"owner":"sa"'
sleep 0.3
run 0 task archive -o json
out_has '"queue_kept":2,"leases_announced":1'
run 0 task archive -o json
out_has '"queue_kept":3,"leases_announced":0'
run 0 task claim --swarm sb -q
run 0 task claim --swarm sb -q
run 0 task claim --swarm sb -o json --why
out_has '"id":"q-4"'
out_has '"owner":"sb"'
out_lacks 'none in the ready queue'
run 0 task archive -o json
out_has '"queue_dropped":0,"queue_kept":0,"leases_announced":0'

# read-only: a sweep is a change, refused with exit 7
run 7 task archive --read-only
run 0 down -q
# no server: one clear line, exit 6
run 6 task archive
err_is_one_error
finish
