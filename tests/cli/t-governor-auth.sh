# The governor's keys under 'up --auth': a swarm login registers and
# heartbeats its own profile, but cannot write another swarm's profile nor
# the governor's state of any swarm (retired, breaker), nor budgets.
. "$(dirname "$0")/lib.sh"
N="$IF_HOME/nats"

run 0 up -q --auth
SW="--config $N/swarm.yaml"
OP="--config $N/operator.yaml"
run 0 $SW swarm register --id swarm -c integration:sip
run 0 $SW swarm heartbeat swarm
run 7 $SW swarm register --id other -c integration:sip
err_has '\[nats-permission\]'
run 7 $SW governor trip swarm --reason "close it myself"
run 0 $OP governor trip swarm --reason "operator"
run 7 $SW governor reset swarm
run 0 $SW task push t-1 -c integration:sip
run 4 $SW task claim --swarm swarm
err_has 'circuit breaker open \(operator\)'
run 0 $OP governor reset swarm --budget 3
run 0 $SW task claim --swarm swarm
run 7 $SW swarm retire swarm
run 0 $OP swarm retire swarm
run 0 $SW swarm show swarm -o json
out_has '"status":"retired"'
finish
