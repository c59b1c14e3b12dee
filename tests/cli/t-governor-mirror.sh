# The local mirror of IF_SWARMS and IF_BUDGETS ($IF_HOME/kvmirror.db) as the
# commands use it: governor match, request-help and swarm list give what
# they give from the buckets (read with --read-only and no mirror), after
# changes and hostile records; --why says what the sync read; a damaged
# file is reported and the buckets read instead; --read-only makes no file
# and uses one only while it is fresh.
. "$(dirname "$0")/lib.sh"
MIRROR="$IF_HOME/kvmirror.db"
URL="nats://127.0.0.1:$IF_SERVER_PORT"

# same NAME ARGS...: the command's stdout and exit code with the mirror are those
# from the buckets (the mirror set aside, --read-only).
same() {
	name=$1; shift
	"$IFCTL" "$@" >"$T_DIR/$name.m" 2>"$T_DIR/$name.me"
	rm_=$?
	mkdir -p "$T_DIR/aside"
	mv "$MIRROR"* "$T_DIR/aside/" 2>/dev/null
	"$IFCTL" "$@" --read-only >"$T_DIR/$name.b" 2>"$T_DIR/$name.be"
	rb=$?
	[ -e "$MIRROR" ] && not_ok "$name: --read-only made a mirror"
	mv "$T_DIR/aside/"* "$IF_HOME/" 2>/dev/null
	for f in "$T_DIR/$name.m" "$T_DIR/$name.b"; do	# new task ids differ
		sed -i 's/"t-[0-9a-f]\{12\}"/"t-ID"/g' "$f"
	done
	if [ "$rm_" = "$rb" ] && cmp -s "$T_DIR/$name.m" "$T_DIR/$name.b"; then ok
	else not_ok "$name: ifctl $* gives exit $rm_ with the mirror, $rb from the buckets:" \
		"$(diff "$T_DIR/$name.m" "$T_DIR/$name.b" | head -5)"; fi
}

run 0 up -q
for i in 1 2 3 4 5 6; do
	case $i in
	1|4) caps=integration:sip,infra:databases ;;
	2|5) caps=cli:testing ;;
	*) caps=docs:tutorials,integration:sip ;;
	esac
	run 0 swarm register --id m$i -c $caps --cost-per-hour 0.$i --reputation 0.$i -q
done
run 0 cost allocate m1 5 -q
run 0 cost allocate m4 0.01 -q

run 0 governor match -c integration:sip --why
out_has 'registry +IF_SWARMS +[0-9]+ messages read \(sequences 1 to [0-9]+\), rebuilt: first sync'
out_has 'registry +IF_BUDGETS'
check "[ -f '$MIRROR' ] && [ \"\$(stat -c %a '$MIRROR')\" = 600 ]"
run 0 governor match -c integration:sip --why
out_has 'registry +IF_SWARMS +fresh at sequence [0-9]+ \(6 keys\), nothing to read'

same match1 governor match -c integration:sip,infra:databases -o json
same match2 governor match -c cli:testing --all -o json
same match3 governor match -c docs:tutorials --exclude m3
same list1 swarm list -o json

# Changes since the last sync: heartbeat, retire, breaker, budget, re-register.
run 0 swarm heartbeat m2 -q
run 0 swarm retire m5 -q
run 0 governor trip m1 --reason "test trip" -q
run 0 cost allocate m4 3 -q
run 0 swarm register --id m6 -c cli:testing --replace -q
run 0 governor match -c cli:testing --why
out_has 'registry +IF_SWARMS +[0-9]+ messages? read \(sequences'
out_lacks 'rebuilt'
same match4 governor match -c cli:testing -o json
same match5 governor match -c integration:sip,infra:databases --all -o json
same help1 governor request-help --blocked m2 -c integration:sip --mode=falsify -o json
same list2 swarm list -o json

# Hostile records, written raw: reported as from the bucket.
printf '"integration:sip" but not JSON' >"$T_DIR/r1"
printf '{"v":1,"swarm":"m2","breaker":"sideways"}' >"$T_DIR/r2"
"$BUILD/tests/rawput" "$URL" kv IF_SWARMS junk-sip "$T_DIR/r1" >/dev/null && ok || not_ok "rawput junk"
"$BUILD/tests/rawput" "$URL" kv IF_SWARMS state.m2 "$T_DIR/r2" >/dev/null && ok || not_ok "rawput state"
same list3 swarm list -o json
same match6 governor match -c integration:sip --all -o json
run 0 swarm list
out_has 'junk-sip .*invalid'

# A damaged file: a warning, and the buckets give the same answer.
cp "$T_DIR/match6.m" "$T_DIR/before"
rm -f "$MIRROR"*
head -c 4096 /dev/urandom >"$MIRROR"
run 0 governor match -c integration:sip --all -o json
err_has "warning: mirror '.*kvmirror.db' is damaged .*; reading the buckets instead \(remove the file to rebuild it\)"
check "cmp -s '$OUT' '$T_DIR/before'"
run 0 swarm list -q
err_empty
rm -f "$MIRROR"*

# Read-only: no file made; a file used only while it holds the last sequence.
run 0 governor match -c integration:sip --read-only --why
out_has 'registry +mirror +read-only, and there is none of this format yet: the buckets are read'
check "[ ! -e '$MIRROR' ]"
run 0 swarm list -q
run 0 governor match -c integration:sip --read-only --why
out_lacks 'the buckets are read'
run 0 swarm heartbeat m3 -q
run 0 governor match -c integration:sip --read-only --why
out_has 'registry +IF_SWARMS +read-only, and the mirror does not hold its last sequence'

finish
