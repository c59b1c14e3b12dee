# ifctl up --auth: operator, swarm and viewer users on the local server, each
# held to the permissions ifctl-protocol(7) lists (PERMISSIONS), checked with
# ifctl itself and with raw NATS protocol lines.
. "$(dirname "$0")/lib.sh"

N="$IF_HOME/nats"
# pw NAME: the password in a role's login file, or in an added user's.
pw() {
	f="$N/$1.yaml"; [ -e "$f" ] || f="$N/users/$1.yaml"
	sed -n 's/^  password: "\(.*\)"$/\1/p' "$f"
}

. "$(dirname "$0")/auth-lib.sh"
# refused USER SUBJECT, allowed_pub USER SUBJECT, allowed_sub USER SUBJECT:
# auth-lib.sh's checks with the user's password.
refused_as() { refused "$1" "$(pw "$1")" "$2"; }
allowed_pub() { allowed "$1" "$(pw "$1")" "$2"; }
allowed_sub_as() { allowed_sub "$1" "$(pw "$1")" "$2"; }

# --read-only and --mode=falsify behave as for a plain up.
run 7 up --auth --read-only
err_has '\[read-only\]'
check "[ ! -e '$N' ]"
run 0 up --auth --mode=falsify
out_has '^users +pass +operator, swarm and viewer'
check "[ ! -e '$N' ]"
run 2 up --auth --schema-only
err_is_one_error
# 'user add' needs the local server, started with --auth.
run 1 user add sw1 --role swarm
err_is_one_error
err_has "the local server is not running .*'ifctl up --auth'"
err_has '\[not-running\]'
check "[ ! -e '$N' ]"

run 0 up --auth -v
out_has '^users: +operator, swarm, viewer'
out_has '^user +swarm +created'
for r in operator swarm viewer; do
	check "[ \"\$(stat -c %a '$N/$r.yaml')\" = 600 ]"
	check "[ \"\$(pw $r | wc -c)\" -eq 25 ]"
	check "! grep -qF -- \"\$(pw $r)\" '$N/nats.conf' '$OUT' '$ERR'"
done
check "grep -q '^authorization {' '$N/nats.conf'"
check "grep -q 'password: \"\\\$2b\\\$06\\\$' '$N/nats.conf'"
cp "$N/viewer.yaml" "$T_DIR/viewer.before"

# Nobody gets in without a password, or with a wrong one.
run 7 status --server "nats://127.0.0.1:$IF_SERVER_PORT"
err_is_one_error
err_has '\[nats-permission\]'
IF_NATS_USER=viewer IF_NATS_PASSWORD=wrong run 7 status --server "nats://127.0.0.1:$IF_SERVER_PORT"
err_has 'authorization failed'

# The operator (ifctl's own login to its local server) does everything.
run 0 status
out_has '^state: +connected'
run 0 task push t-1 --title one
run 0 task push t-2 --title two
run 0 witness append --component test --event op
run 0 task claim --swarm s0 -o json
out_has '"id":"t-1"'
run 0 witness checkpoint

# A swarm claims, heartbeats and completes, and its commands are witnessed.
SW="--config $N/swarm.yaml"
run 0 $SW task claim --swarm s1 -o json
out_has '"id":"t-2"'
tok=$(sed -n 's/.*"token":\([0-9]*\).*/\1/p' "$OUT")
run 0 $SW task heartbeat t-2 --swarm s1 --token "$tok"
run 0 $SW task complete t-2 --swarm s1 --token "$tok"
run 0 $SW task push t-3 --title three
run 0 $SW witness append --component swarm --event note
# ... but cannot sign checkpoints, touch credentials or budgets, or drop data.
run 7 $SW witness checkpoint
err_is_one_error
err_has "refused by the server \(permissions violation for publish to \"if.v1.witness.checkpoint\"\)"
err_has '\[nats-permission\]'
refused_as swarm 'if.v1.witness.checkpoint'
refused_as swarm '$KV.IF_CREDS.c-1'
refused_as swarm '$KV.IF_BUDGETS.s1'
refused_as swarm '$JS.API.STREAM.DELETE.IF_WITNESS'
refused_as swarm '$JS.API.STREAM.PURGE.IF_WITNESS'
refused_as swarm '$JS.API.STREAM.PURGE.KV_IF_TASKS'
refused_as swarm '$JS.API.STREAM.UPDATE.IF_WITNESS'
refused_as swarm '$JS.API.STREAM.MSG.DELETE.IF_WITNESS'
refused_as swarm '$JS.API.STREAM.CREATE.X'
refused_as swarm 'if.v1.evt.budget.spent'
# A swarm login writes its own profile only.
allowed_pub swarm '$KV.IF_SWARMS.swarm'
refused_as swarm '$KV.IF_SWARMS.s9'
allowed_sub_as swarm 'if.v1.evt.>'

# A viewer reads everything and changes nothing.
VW="--config $N/viewer.yaml"
run 0 $VW status
out_has '^bucket +IF_CREDS +ok'
run 0 $VW task list
out_has '^t-3 +queued'
run 0 $VW task show t-2
out_has 'done'
run 0 $VW witness verify
out_has '^result: +ok'
run 0 $VW task stats
run 0 $VW witness export
out_has '"event":"op"'
run 0 $VW witness query --component swarm
out_has 'note'
run 0 $VW witness prove --inclusion 1
run 0 $VW witness checkpoints
run 7 $VW task push t-4 --title four
err_is_one_error
err_has "publish to '\\\$KV.IF_TASKS.t-4': refused by the server"
err_has '\[nats-permission\]'
run 7 $VW task claim --swarm s2
err_has '\[nats-permission\]'
run 7 $VW witness append --component viewer --event nope
err_has '\[nats-permission\]'
run 0 $VW task list -o json
out_lacks 't-4'
out_has '"id":"t-3","state":"queued"'
# A login in the URL works too, and -v and errors show the URL without it.
run 0 -v task list --server "nats://viewer:$(pw viewer)@127.0.0.1:$IF_SERVER_PORT"
err_has "connected to 'nats://127.0.0.1:$IF_SERVER_PORT'"
check "! grep -qF -- \"\$(pw viewer)\" '$ERR'"
run 7 status --server "nats://viewer:wrong@127.0.0.1:$IF_SERVER_PORT"
err_has "cannot connect to 'nats://127.0.0.1:$IF_SERVER_PORT': authorization failed"
refused_as viewer '$KV.IF_TASKS.t-1'
refused_as viewer 'if.v1.witness.entry'
refused_as viewer 'if.v1.evt.task.done'
refused_as viewer '$JS.API.STREAM.DELETE.IF_EVENTS'
refused_as viewer '$JS.API.STREAM.PURGE.KV_IF_TASKS'
refused_as viewer '$JS.API.CONSUMER.DURABLE.CREATE.IF_WITNESS.d'
allowed_sub_as viewer 'if.v1.>'

# 'ifctl user add': more logins with a role's permissions, each password
# shown once and kept only in the user's login file (0600) and, hashed, in
# nats.conf; the running server reloads and lets the user in at once.
run 2 user add 'a b' --role swarm
err_is_one_error
err_has "user name 'a b' is not an id"
run 2 user add sw1 --role admin
err_has "--role: 'admin' is not a role"
run 2 user add sw1
err_has 'needs --role'
run 2 user add swarm --role swarm
err_has "is a role's own login"
run 7 --read-only user add sw1 --role swarm
err_is_one_error
err_has '\[read-only\]'
run 0 --mode=falsify user add sw1 --role swarm
out_has '^server has users +pass'
out_has '^user is new +pass'
check "[ ! -e '$N/users/sw1.yaml' ]"
run 0 user add sw1 --role swarm -o json
out_json
out_has '"name":"sw1","role":"swarm","password":"[A-Za-z0-9_-]{24}"'
check "[ \"\$(stat -c %a '$N/users/sw1.yaml')\" = 600 ]"
check "[ \"\$(stat -c %a '$N/users')\" = 700 ]"
check "grep -q 'user: \"sw1\", password: \"\\\$2b\\\$06\\\$' '$N/nats.conf'"
check "! grep -qF -- \"\$(pw sw1)\" '$N/nats.conf'"
check "grep -qF -- \"\$(pw sw1)\" '$OUT'"
run 1 user add sw1 --role swarm
err_is_one_error
err_has "user 'sw1' exists"
run 8 --mode=falsify user add sw1 --role swarm
out_has '^user is new +fail'
run 0 user add vw1 --role viewer
out_has '^role: +viewer'
run 0 user list
out_has '^sw1 +user +swarm +.*/users/sw1.yaml'
out_has '^vw1 +user +viewer'
out_has '^operator +role +operator'
# The swarm user claims and completes, but cannot purge the ledger or write IF_CREDS.
S1="--config $N/users/sw1.yaml"
run 0 task push t-10 --title ten --priority 9
run 0 $S1 task claim --swarm sw1 -o json
out_has '"id":"t-10"'
tok=$(sed -n 's/.*"token":\([0-9]*\).*/\1/p' "$OUT")
run 0 $S1 task complete t-10 --swarm sw1 --token "$tok"
run 7 $S1 witness checkpoint
err_has '\[nats-permission\]'
refused_as sw1 '$JS.API.STREAM.PURGE.IF_WITNESS'
refused_as sw1 '$JS.API.STREAM.DELETE.IF_WITNESS'
refused_as sw1 '$KV.IF_CREDS.c-1'
allowed_pub sw1 '$KV.IF_SWARMS.sw1'
refused_as sw1 '$KV.IF_SWARMS.swarm'
# The viewer user reads and cannot write.
V1="--config $N/users/vw1.yaml"
run 0 $V1 task show t-10
out_has 'done'
run 7 $V1 task push t-11 --title eleven
err_has '\[nats-permission\]'
refused_as vw1 '$KV.IF_TASKS.t-10'
refused_as vw1 'if.v1.witness.entry'
# Each change is witnessed, without the password.
run 0 witness query --event command.user.add
out_has 'command.user.add'
run 0 witness export
check "! grep -qF -- \"\$(pw sw1)\" '$OUT'"
check "grep -q '\"argv\":\\[\"user\",\"add\",\"sw1\"' '$OUT'"
# Removed, the login is refused at once; its file is gone.
old=$(pw sw1)
run 0 --mode=falsify user rm sw1
check "[ -e '$N/users/sw1.yaml' ]"
run 0 user rm sw1
check "[ ! -e '$N/users/sw1.yaml' ]"
IF_NATS_USER=sw1 IF_NATS_PASSWORD=$old run 7 status --server "nats://127.0.0.1:$IF_SERVER_PORT"
err_has 'authorization failed'
run 3 user rm sw1
err_is_one_error
err_has "no user 'sw1'"
run 2 user rm operator
run 7 --read-only user rm vw1
run 0 witness query --event command.user.rm
out_has 'command.user.rm'

# The operator's ledger is intact after all that, and holds no password.
run 0 witness verify
out_has '^result: +ok'
run 0 witness export
for r in operator swarm viewer; do check "! grep -qF -- \"\$(pw $r)\" '$OUT'"; done

# 'up --auth' again keeps the passwords, running or restarted.
run 0 up --auth
out_has '^state: +already running'
check "cmp -s '$N/viewer.yaml' '$T_DIR/viewer.before'"
run 0 down
out_has '^state: +stopped'
run 0 up --auth
out_has '^user +viewer +exists'
check "cmp -s '$N/viewer.yaml' '$T_DIR/viewer.before'"
run 0 $VW task list
out_has '^t-3'
run 0 $V1 task list
out_has '^t-3'

# Without server.auth the next start has no users; 'up --auth' on that
# running server says it must be restarted.
run 0 down
run 0 up
out_has '^users: +none'
run 0 status --server "nats://127.0.0.1:$IF_SERVER_PORT" -q
run 1 up --auth
err_is_one_error
err_has "has no users; stop it with 'ifctl down'"
run 1 user add vw2 --role viewer
err_is_one_error
err_has "has no users; stop it with 'ifctl down', then run 'ifctl up --auth'"
check "[ ! -e '$N/users/vw2.yaml' ]"
IF_SERVER_AUTH=true run 8 up --mode=falsify
out_has '^users +fail'
run 0 down
IF_SERVER_AUTH=true run 0 up
out_has '^users: +operator, swarm, viewer'
run 0 down
out_has '^state: +stopped'

finish
