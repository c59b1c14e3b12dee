# Swarm logins under 'up --auth' (ifctl-protocol(7), PERMISSIONS): a swarm
# claims through the ready queue's consumers, moves what it finishes to the
# archive, reads the archive, and writes as itself only: its profile, its
# events, its usage and its SLO samples carry its login name, and swarm A's
# login is refused what it tries as B. A viewer cannot take ids from the queue.
. "$(dirname "$0")/lib.sh"

N="$IF_HOME/nats"
LOG="$N/nats.log"
pw() { sed -n 's/^  password: "\(.*\)"$/\1/p' "$N/users/$1.yaml" 2>/dev/null || true; }
rpw() { sed -n 's/^  password: "\(.*\)"$/\1/p' "$N/$1.yaml"; }
. "$(dirname "$0")/auth-lib.sh"
# violations USER: how many publishes of USER the server has refused so far.
violations() { grep -c "Publish Violation - User \"$1\"" "$LOG"; }

run 0 up -q --auth
run 0 user add sa --role swarm -q
run 0 user add sb --role swarm -q
run 0 user add vw --role viewer -q
# A swarm login's name is the swarm id its subjects carry.
run 2 user add sa.x --role swarm
err_is_one_error
err_has "user name 'sa.x': a swarm login's name is its swarm id"
check "[ ! -e '$N/users/sa.x.yaml' ]"
run 2 user add Sa --role swarm
run 0 user add vw.2 --role viewer -q
SA="--config $N/users/sa.yaml"
SB="--config $N/users/sb.yaml"
VW="--config $N/users/vw.yaml"
check "grep -q '\"if.v1.slo.sample.sa\", ' '$N/nats.conf'"
check "grep -q '\"if.v1.evt.swarm.sb.>\", ' '$N/nats.conf'"

# A one-shot claim of a swarm login takes its id from the ready queue: the
# queue's consumer is made on the first claim, by the swarm itself.
run 0 task push q-1 --title one -q --priority 7
run 0 task push q-2 --title two -q --priority 7
run 0 $SA task claim --swarm sa --why -o json
out_has '"id":"q-1","state":"claimed"'
out_lacks 'none in the ready queue'
tok=$(sed -n 's/.*"token":\([0-9]*\).*/\1/p' "$OUT")
check "[ \"\$(violations sa)\" -eq 0 ]"
run 0 $SB task claim --swarm sb --why -o json
out_has '"id":"q-2"'
out_lacks 'none in the ready queue'

# A swarm does not write the archive (a move ends with a purge of the live
# key, which no subject permission narrows to one key): with
# coordinator.retain 0 its complete finishes the task, which stays live
# until the operator's sweep moves it; swarm and viewer then read it there.
IF_COORDINATOR_RETAIN=0 run 0 $SA task complete q-1 --swarm sa --token "$tok" -q
check "grep -q 'User \"sa\", Subject \"\\\$KV.IF_ARCHIVE.q-1\"' '$LOG'"
run 0 $SA task show q-1 -o json
out_has '"state":"done"'
out_has '"archived":false'
run 0 task archive --retain 0 -o json
out_has '"action":"archived","tasks":1'
run 0 $SA task show q-1 -o json
out_has '"archived":true'
run 0 $VW task list --state done -o json
out_has '"id":"q-1","state":"done"'
run 0 task list -o json
out_lacks '"id":"q-1"'
run 0 $SB task list --state done -o json
out_has '"id":"q-1"'
refused sa "$(pw sa)" '$KV.IF_ARCHIVE.q-2'
refused sa "$(pw sa)" '$JS.API.STREAM.PURGE.KV_IF_TASKS'
refused sa "$(pw sa)" '$JS.API.STREAM.PURGE.KV_IF_ARCHIVE'
refused sa "$(pw sa)" '$JS.API.STREAM.PURGE.IF_QUEUE'
# A claimer makes the queue's claim consumers and no other consumer of it.
allowed sa "$(pw sa)" '$JS.API.CONSUMER.DURABLE.CREATE.IF_QUEUE.claim-p3'
refused sa "$(pw sa)" '$JS.API.CONSUMER.DURABLE.CREATE.IF_QUEUE.mine'
refused sa "$(pw sa)" '$JS.API.CONSUMER.CREATE.IF_QUEUE.x.if.v1.queue.task.3'
refused sa "$(pw sa)" '$JS.API.CONSUMER.DURABLE.CREATE.IF_WITNESS.claim-p3'

# A viewer reads the queue's counts but takes, holds and acks no id.
run 0 task push q-3 --title three -q
run 7 $VW task claim --swarm vw
err_is_one_error
err_has '\[nats-permission\]'
refused vw "$(pw vw)" '$JS.API.CONSUMER.MSG.NEXT.IF_QUEUE.claim-p5'
refused vw "$(pw vw)" '$JS.ACK.IF_QUEUE.claim-p5.1.1.1.1.1'
refused vw "$(pw vw)" '$JS.API.CONSUMER.CREATE.IF_QUEUE.v.if.v1.queue.task.5'
refused vw "$(pw vw)" '$JS.API.CONSUMER.DURABLE.CREATE.IF_QUEUE.claim-p5'
allowed vw "$(pw vw)" '$JS.API.CONSUMER.MSG.NEXT.KV_IF_TASKS.x'
run 0 $SB task claim --swarm sb -o json
out_has '"id":"q-3"'

# Each swarm writes as itself: its profile, heartbeat, events, usage and
# SLO samples; swarm A's login is refused each of them as B.
run 0 $SA swarm register --id sa -c integration:sip -q
run 0 $SB swarm register --id sb -c integration:sip -q
before=$(violations sa)
run 0 $SA swarm heartbeat sa -q
check "[ \"\$(violations sa)\" -eq $before ]"
run 7 $SA swarm heartbeat sb
err_is_one_error
err_has "publish to '\\\$KV.IF_SWARMS.sb': refused by the server \(permissions violation for publish to \"\\\$KV.IF_SWARMS.sb\"\)"
err_has '\[nats-permission\]'
run 7 $SA swarm register --id sb -c integration:sip --replace
err_has '\[nats-permission\]'
run 0 swarm show sb -o json
out_has '"id":"sb"'
for s in if.v1.slo.sample.sa if.v1.cost.usage.sa if.v1.evt.swarm.sa.heartbeat '$KV.IF_SWARMS.sa'; do
	allowed sa "$(pw sa)" "$s"
done
for s in if.v1.slo.sample.sb if.v1.cost.usage.sb if.v1.evt.swarm.sb.heartbeat '$KV.IF_SWARMS.sb' \
	 if.v1.slo.sample.sa.x if.v1.cost.settled.sa if.v1.cost.settled.sb if.v1.evt.slo.sb.breach \
	 '$KV.IF_SLO_EPISODES.sb'; do
	refused sa "$(pw sa)" "$s"
done
# The role's own login is the swarm named 'swarm'.
allowed swarm "$(rpw swarm)" if.v1.slo.sample.swarm
refused swarm "$(rpw swarm)" if.v1.slo.sample.sa

# A claim made with A's login in B's name (the task's owner is the client's
# word, see PERMISSIONS) feeds no SLO sample of B: the server drops them.
run 0 task push q-4 --title four -q
run 0 slo sync -q
before=$(violations sa)
run 0 $SA task claim --swarm sb -o json
out_has '"id":"q-4","state":"claimed","priority":5,"owner":"sb"'
check "[ \"\$(violations sa)\" -gt $before ]"
check "grep -q 'User \"sa\", Subject \"if.v1.slo.sample.sb\"' '$LOG'"
run 0 slo sync -o json
out_has '"added":0,'

finish
