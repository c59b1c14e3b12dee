# ifctl witness verify|prove over exported ledgers, offline (no server).
. "$(dirname "$0")/lib.sh"
W=fixtures/witness
KEY=@$W/key.vkey

# The committed fixtures are what the generator writes.
mkdir -p "$T_DIR/fx"
"$BUILD/tests/mkledger" "$T_DIR/fx" && diff -r "$T_DIR/fx" "$W" >/dev/null && ok ||
	not_ok "fixtures differ from tests/helper/mkledger's output"

run 0 witness verify -f $W/good.jsonl --key $KEY
out_has '^result: +ok'
out_has '^entries: +30'
out_has '^checkpoints: +3'
run 0 witness verify -f $W/good.jsonl --key "$(cat $W/key.vkey)" -o json --why
out_json
out_has '"result":"ok"'
out_has '"factor":"key","value":"ifctl.example/fixtures"'

# Each kind of tampering: exit 5, the entry named, the verdict on stdout.
expect_fault() {
	run 5 witness verify -f "$W/$1.jsonl" --key $KEY
	err_is_one_error
	err_has '\[witness-failed\]'
	out_has "^fault: +$2"
	out_has "^at: +$3$"
}
expect_fault edited edited 12
expect_fault missing missing 12
expect_fault reordered reordered 5
expect_fault resealed 'wrong root' 20
expect_fault resigned 'bad signature' 10
expect_fault truncated missing 26

# A trusted key must have signed a checkpoint over every entry: a chain
# rewritten from entry 5 with its checkpoints left out, and entries made up
# after the last signed checkpoint, verify on their own but not under --key.
run 5 witness verify -f $W/rewritten.jsonl --key $KEY --why
out_has '^fault: +unsigned'
out_has '^at: +1$'
err_has 'no checkpoint signed by .ifctl.example/fixtures. covers any of the 30 entries'
run 0 witness verify -f $W/rewritten.jsonl	# no --key: integrity only, and --why says so
run 5 witness verify -f $W/tail.jsonl --key $KEY
out_has '^fault: +unsigned'
out_has '^at: +31$'
err_has 'entries 31\.\.33 come after the last checkpoint signed'
run 0 witness verify -f $W/tail.jsonl --key $KEY --allow-unsigned-tail -o json --why
out_has '"factor":"coverage","value":"signed","detail":"checkpoints signed by the key cover entries 1\.\.30'
out_has '"factor":"unsigned","value":"allowed","detail":"entries 31\.\.33 '
run 0 witness verify -f $W/good.jsonl --key $KEY -o json --why
out_has '"factor":"coverage","value":"signed","detail":"[^"]*entries 1\.\.30 \(the first at size 10'
# A malformed checkpoint is named where it stands (after entry 10), not at 2^64-1.
sed '0,/"type":"checkpoint"/s/fixtures\\n10\\n/fixtures\\n-1\\n/' $W/good.jsonl >"$T_DIR/badnote.jsonl"
check "! cmp -s $W/good.jsonl '$T_DIR/badnote.jsonl'"
run 5 witness verify -f "$T_DIR/badnote.jsonl" --key $KEY
out_has '^fault: +malformed'
out_has '^at: +10$'
err_has 'the checkpoint after entry 10: checkpoint is malformed'

# Entries written with another key order are read in order, between the others.
sed '4s/^{"type":"entry",\(.*\)}$/{\1,"type":"entry"}/' $W/good.jsonl >"$T_DIR/mixed.jsonl"
check "! cmp -s $W/good.jsonl '$T_DIR/mixed.jsonl'"
run 0 witness verify -f "$T_DIR/mixed.jsonl" --key $KEY
out_has '^entries: +30'

# Without --key the file's own key is used, and --why says what that proves.
run 0 witness verify -f $W/resigned.jsonl --why
out_has 'integrity, not who wrote it'

# Bad input: malformed file, missing file, bad key, no --file.
run 2 witness verify -f $W/malformed.jsonl --key $KEY
err_has "line 3: witness entry: invalid JSON"
run 3 witness verify -f $W/nonexistent.jsonl
err_has "cannot read"
run 2 witness verify -f $W/good.jsonl --key 'not+a+key'
err_has 'malformed verifier key'
IF_NATS_TIMEOUT_MS=300 run 6 witness verify	# no --file: the server's ledger, and none runs
err_has 'cannot connect'
run 8 witness verify -f $W/edited.jsonl --key $KEY --mode=falsify
out_has '^ledger verifies +fail'

# Proofs verify, and a third party gets everything needed.
run 0 witness prove -f $W/good.jsonl --inclusion 7 -o json
out_json
out_has '"entry":7,"leaf_index":6,"tree_size":30'
out_has '"verified":true'
run 0 witness prove -f $W/good.jsonl --inclusion 1 10 -o json
out_has '"tree_size":10'
run 0 witness prove -f $W/good.jsonl --consistency 10 20 -o json
out_has '"old_size":10,"new_size":20'
out_has '"verified":true'
# The consistency proof's new root is the root the checkpoint at 20 signs.
root20=$(sed 's/.*"new_root":"\([0-9a-f]*\)".*/\1/' "$OUT")
check "[ \${#root20} -eq 64 ]"
run 0 witness prove -f $W/good.jsonl --consistency 30
out_has '^verified: +true'
run 2 witness prove -f $W/good.jsonl --inclusion 31
err_has "out of range 1..30"
run 2 witness prove -f $W/good.jsonl --consistency 20 10
err_has "beyond the tree size"
run 2 witness prove -f $W/good.jsonl
err_has 'needs one of'

# The ledger on a server: append, verify, export, verify the export offline.
run 0 up -q
check "[ \"\$(stat -c %a '$IF_HOME/keys/witness.key')\" = 600 ]"
run 0 witness verify	# up itself is the first entry
out_has '^entries: +1'
run 0 witness tail -n 1 -o jsonl
out_has '"component":"operator",.*"event":"command.up".*"seq":1,'
for i in 1 2 3 4 5; do
	run 0 witness append --component coordinator --event task.claim --task "t-$i" \
		--payload "{\"n\":$i}" --cost-micros 1500 --tokens 20 -q
done
run 0 witness append --component operator --event budget.raise --why="quarter end" \
	--trace=t-abc -o json
out_has '"seq":7'
out_has '"trace":"t-abc"'
out_has '"payload":\{"why":"quarter end"\}'
run 0 witness verify -o json
out_has '"result":"ok","entries":7'
run 0 witness export --file "$T_DIR/export.jsonl"
check "[ \$(grep -c '\"type\":\"entry\"' '$T_DIR/export.jsonl') -eq 7 ]"
check "[ \$(grep -c '\"type\":\"checkpoint\"' '$T_DIR/export.jsonl') -eq 1 ]"
vkey=$(head -1 "$T_DIR/export.jsonl" | sed 's/.*"key":"\([^"]*\)".*/\1/')
run 0 down -q
run 0 witness verify -f "$T_DIR/export.jsonl" --key "$vkey"
out_has '^checkpoints: +1'
sed 's/"cost_micros":1500/"cost_micros":15/' "$T_DIR/export.jsonl" >"$T_DIR/tampered.jsonl"
run 5 witness verify -f "$T_DIR/tampered.jsonl" --key "$vkey"
out_has '^fault: +edited'
out_has '^at: +2$'
run 0 up -q	# entries 8 and 9: the stop before it, and this start
# Exports with proofs, JSON lines and CSV; verify checks every proof line.
run 0 witness export --proofs --file "$T_DIR/proofs.jsonl"
check "[ \$(grep -c '\"type\":\"proof\"' '$T_DIR/proofs.jsonl') -eq 9 ]"
run 0 witness verify -f "$T_DIR/proofs.jsonl"
out_has '^result: +ok'
# Change the first character of entry 1's first path hash, whatever it is.
sed '/"type":"proof","seq":1,/{s/"path":\["f/"path":["0/;t;s/"path":\["./"path":["f/}' \
	"$T_DIR/proofs.jsonl" >"$T_DIR/badproof.jsonl"
check "! cmp -s '$T_DIR/proofs.jsonl' '$T_DIR/badproof.jsonl'"
run 5 witness verify -f "$T_DIR/badproof.jsonl"
out_has 'inclusion proof of entry 1 on line [0-9]+ does not verify'
run 0 witness export --format csv --proofs
out_has '^seq,time,component,event,actor,trace,swarm,task,cost_micros,tokens,payload,prev,hash,tree_size,root,inclusion_proof'
check "[ \$(wc -l <'$OUT') -eq 10 ]"
run 2 witness export --format xml
err_has "'xml' is not jsonl or csv"
run 0 witness checkpoint
out_has '^[0-9]+$'
out_has '^— '
run 0 witness checkpoint -o json
out_json
out_has '"size":9,"root":"[0-9a-f]{64}","key_id":"[0-9a-f]{8}","note":"'
# Proofs straight from the server (the tree in the index) equal the export's.
run 0 witness prove --inclusion 3 -o json
out_has '"entry":3,"leaf_index":2,"tree_size":9'
out_has '"verified":true'
online=$(cat "$OUT")
run 0 witness prove -f "$T_DIR/proofs.jsonl" --inclusion 3 -o json
check "[ '$online' = \"\$(cat '$OUT')\" ]"
run 0 witness prove --consistency 4 9 -o json
out_has '"old_size":4,"new_size":9'
out_has '"verified":true'
online=$(cat "$OUT")
run 0 witness prove -f "$T_DIR/proofs.jsonl" --consistency 4 -o json
check "[ '$online' = \"\$(cat '$OUT')\" ]"
run 2 witness prove --inclusion 10
err_has 'out of range 1..9'
run 0 witness prove --inclusion 3 --mode=falsify
out_has '^the proof verifies against the root +pass'
# Query and trace through the local index, which follows the stream.
run 0 witness query --component coordinator -o json
out_json
out_has '"seq":2,'
out_has '"seq":6,'
out_lacks '"component":"operator"'
run 0 witness query --text quarter --no-headers
out_has '^ *7 +2'
# --text is text, not a LIKE pattern: _ and % match only themselves.
run 0 witness query --text 'quarter_end' --no-headers
out_lacks .
run 0 witness query --text '%' --no-headers
out_lacks .
run 0 witness query --limit 2 --offset 1 -o jsonl
out_jsonl
check "[ \$(wc -l <'$OUT') -eq 2 ]"
out_has '"seq":2,'
run 0 witness query --since 2000-01-01T00:00:00Z --until 2000-01-02T00:00:00Z -o json
out_has '^\[\]$'
run 2 witness query --since yesterday
err_has "is not a time"
run 0 witness trace t-abc -o json
out_has '"trace":\{"trace":"t-abc","entries":1'
run 3 witness trace t-abd
err_is_one_error
err_has "unknown trace 't-abd'; nearest: t-abc"
# A damaged index is refused with a remedy, and the remedy works.
echo garbage >"$IF_HOME/index.db"
rm -f "$IF_HOME/index.db-wal" "$IF_HOME/index.db-shm"
run 1 witness query
err_has '\[index-corrupt\]'
run 0 index rebuild
out_has '^witness entries: +9|^witness_entries: +9'
run 0 witness query --no-headers
check "[ \$(wc -l <'$OUT') -eq 9 ]"
# A directory where the index should be: an index error naming it, and rebuild moves it aside.
rm -f "$IF_HOME/index.db" "$IF_HOME/index.db-wal" "$IF_HOME/index.db-shm"
mkdir "$IF_HOME/index.db"
run 1 witness query
err_is_one_error
err_has "index '[^']*/index.db' is not a regular file \(a directory\)"
err_has '\[index-corrupt\]'
run 0 index rebuild -q
check "[ -d '$IF_HOME/index.db.not-an-index' ] && [ -f '$IF_HOME/index.db' ]"
rmdir "$IF_HOME/index.db.not-an-index"
run 0 witness query --no-headers
check "[ \$(wc -l <'$OUT') -eq 9 ]"

# tail: the last entries, then each new one as it lands; Ctrl-C ends it (130).
run 0 witness tail -n 2 -o jsonl
out_jsonl
check "[ \$(wc -l <'$OUT') -eq 2 ]"
out_has '"seq":9,'
"$IFCTL" witness tail -f -n 0 -o jsonl >"$T_DIR/tail.out" 2>"$T_DIR/tail.err" &
tail_pid=$!
i=0; until grep -q . "$T_DIR/tail.out" 2>/dev/null || [ $i -gt 100 ]; do
	"$IFCTL" witness append --component live --event ping -q >/dev/null 2>&1
	i=$((i + 1)); sleep 0.05
done
kill -INT $tail_pid
wait $tail_pid
check "[ $? -eq 130 ]"
check "grep -q '\"component\":\"live\"' '$T_DIR/tail.out'"
run 0 index rebuild -q

# Bad input before anything is written; a key file anyone can read is refused.
run 2 witness append --component x
err_has 'needs --component and --event'
run 2 witness append --component x --event y --payload '[1,'
err_has 'payload: invalid JSON'
run 2 witness append --component x --event y --tokens -4
run 2 witness append --component x --event y --payload '[1]' --why=because
err_has 'must be a JSON object'
chmod 644 "$IF_HOME/keys/witness.key"
run 7 witness export
err_has 'must be 0600'
chmod 600 "$IF_HOME/keys/witness.key"
run 0 witness verify -o json
out_has '"result":"ok"'

# What the coordinator and the operator do is witnessed, under the command's trace.
run 0 task push w-1 --title audit --why="for the audit" --trace=tr-push -q
run 0 witness trace tr-push -o json
out_json
out_has '"component":"coordinator","event":"task.push","actor":"[^"]+@[^"]+","trace":"tr-push","swarm":null,"task":"w-1"'
out_has '"payload":\{"attempts":0,"priority":5,"state":"queued","token":0,"why":"for the audit"\}'
out_has '"component":"operator","event":"command.coordinator.push"'
out_has '"argv":\["task","push","w-1","--title","audit","--why=for the audit","--trace=tr-push","-q"\],"exit":0,"outcome":"ok"'
run 0 task claim --swarm s-1 --trace=tr-claim -o json
run 0 witness trace tr-claim -o json
out_has '"event":"task.claim","actor":"s-1","trace":"tr-claim","swarm":"s-1","task":"w-1"'
# A refused command is witnessed with its outcome; the refusal changed nothing else.
run 7 task complete w-1 --swarm s-2 --token 1 --trace=tr-refused
run 0 witness trace tr-refused -o json
out_has '"entries":1,'
out_has '"event":"command.coordinator.complete"'
out_has '"exit":7,"outcome":"not-owner"'
# Falsify and read-only write no entry.
run 0 witness verify -o json
before=$(sed 's/.*"entries":\([0-9]*\).*/\1/' "$OUT")
run 0 task push w-2 --mode=falsify -q
run 7 task push w-3 --read-only
run 0 witness verify -o json
out_has "\"entries\":$before,"

# Checkpoints are stored every witness.checkpoint_every entries and verified.
IF_WITNESS_CHECKPOINT_EVERY=2 run 0 task push w-4 -v
err_has 'witness checkpoints? stored'
IF_WITNESS_CHECKPOINT_EVERY=2 run 0 task push w-5
run 0 witness checkpoints
out_has '^ +[0-9]+ +[^ ]+ +good +[0-9a-f]{64}$'
out_lacks 'not by key|malformed'
run 0 witness checkpoints -o json
out_json
out_has '"note":"[^"]+\\n[0-9]+\\n'
run 0 witness checkpoints --key "$(cat $W/key.vkey)"
out_has ' not by key '
run 8 witness checkpoints --key "$(cat $W/key.vkey)" --mode=falsify
out_has '^every stored checkpoint is signed by the key +fail +0 of [0-9]+ signed'
run 0 witness checkpoints --mode=falsify
out_has '^every stored checkpoint is signed by the key +pass'
run 2 witness checkpoints --key 'not+a+key'
err_has 'malformed verifier key'
run 0 witness verify -o json --why
out_has '"result":"ok"'
out_has '"checkpoints":[1-9]'
out_has 'stored checkpoints \(IF_CHECKPOINTS\)'
run 0 witness export --file "$T_DIR/stored.jsonl"
run 0 witness verify -f "$T_DIR/stored.jsonl"
out_has '^result: +ok'
check "[ \$(grep -c '\"type\":\"checkpoint\"' '$T_DIR/stored.jsonl') -ge 2 ]"
# Entries from long-running writers: the next command makes the checkpoints
# that are due, unless the local index lags too far to catch up in passing.
check "'$BUILD/tests/fill-ledger' nats://127.0.0.1:$IF_SERVER_PORT 21000"
run 0 task push w-6
err_has 'notice: witness checkpoint not stored: the local index is [0-9]+ entries behind'
run 0 witness checkpoint -o json
out_has '"size":210[0-9][0-9],'
check "'$BUILD/tests/fill-ledger' nats://127.0.0.1:$IF_SERVER_PORT 2500"
IF_WITNESS_CHECKPOINT_EVERY=1000 run 0 task push w-7 -v
err_has '[23] witness checkpoints stored'
run 0 witness verify -o json
out_has '"result":"ok"'
# A trusted key online: every entry under a checkpoint it signed, or
# --allow-unsigned-tail; 'witness checkpoint' covers the tail.
hostkey=$(head -1 "$T_DIR/export.jsonl" | sed 's/.*"key":"\([^"]*\)".*/\1/')
run 0 witness append --component x --event tail -q
run 5 witness verify --key "$hostkey"
out_has '^fault: +unsigned'
run 0 witness verify --key "$hostkey" --allow-unsigned-tail --why -o json
out_has '"factor":"unsigned","value":"allowed"'
run 0 witness checkpoint -q
run 0 witness verify --key "$hostkey"
out_has '^result: +ok'
# A damaged index (one tree row changed, which SQLite cannot see) is never
# signed: the root is checked against the stream first, and named.
check "'$BUILD/tests/forge-ledger' --damage-index '$IF_HOME/index.db' top"
run 0 witness checkpoints -o json
ncp=$(grep -o '"size"' "$OUT" | wc -l)
run 0 witness append --component x --event after-damage -q
run 1 witness checkpoint
err_is_one_error
err_has "index '[^']*index.db' is damaged"
err_has '\[index-corrupt\]'
err_has 'ifctl index rebuild'
IF_WITNESS_CHECKPOINT_EVERY=1 run 0 witness append --component x --event due
err_has 'notice: witness checkpoint not stored: index .* is damaged'
run 1 witness prove --inclusion 2
err_has '\[index-corrupt\]'
run 0 witness checkpoints -o json
check "[ \$(grep -o '\"size\"' '$OUT' | wc -l) -eq $ncp ]"
run 0 index rebuild -q
run 0 witness checkpoint -q
run 0 witness verify --key "$hostkey"
out_has '^result: +ok'
# A leaf row changed: the roots are right, the proofs through it are not.
check "'$BUILD/tests/forge-ledger' --damage-index '$IF_HOME/index.db' leaf0"
run 1 witness prove --inclusion 2
err_has "index '[^']*index.db' is damaged: the proof its tree gives does not verify"
run 0 index rebuild -q
run 0 witness prove --inclusion 2
out_has '^verified: +true'
# A forger with the server but not the key rewrites history from entry 3:
# the new chain is consistent in itself, the signed checkpoints are not.
check "'$BUILD/tests/forge-ledger' nats://127.0.0.1:$IF_SERVER_PORT 3"
run 5 witness verify
out_has '^fault: +wrong root'
err_has 'signs a root that is not the tree'
err_has '\[witness-failed\]'
# The index refuses to follow the rewritten stream rather than mix two histories.
run 5 witness query
err_has 'ledger entry [0-9]+ on the server is not the one this index copied'
run 0 index rebuild -q
run 0 down -q
run 0 up -q
run 5 witness verify -q

# A server without the fleet's streams: a clear error, nothing created.
nats_start
run 3 witness append --component x --event y --server "$NATS_URL"
err_is_one_error
err_has "stream 'IF_WITNESS' does not exist"
err_has '\[no-schema\]'
run 3 witness verify --server "$NATS_URL"
err_has "stream 'IF_WITNESS' does not exist"

# Garbage another client publishes on the ledger's subject: verify names it
# (exit 5), export goes on around it and marks it, append refuses.
run 0 up --schema-only --server "$NATS_URL" -q
run 0 witness append --component x --event y --server "$NATS_URL" -q
check "'$BUILD/tests/forge-ledger' '$NATS_URL' --garbage 'not json'"
check "'$BUILD/tests/forge-ledger' '$NATS_URL' --garbage '{\"v\":1,\"hello\":1}'"
run 5 witness verify --server "$NATS_URL"
out_has '^fault: +malformed'
err_has 'stream message [0-9]+ is not a witness entry'
g=$(sed -n 's/^at: *//p' "$OUT")
check "[ -n '$g' ] && [ '$g' -ge 2 ]"
run 5 witness export --server "$NATS_URL" --file "$T_DIR/foreign.jsonl"
err_has "message $g \\(and more\\) is not a witness entry: exported as a \"fault\" line"
err_has '\[ledger-foreign\]'
check "[ \$(grep -c '\"type\":\"fault\"' '$T_DIR/foreign.jsonl') -eq 2 ]"
check "[ \$(grep -c '\"type\":\"entry\"' '$T_DIR/foreign.jsonl') -eq $((g - 1)) ]"
run 5 witness verify -f "$T_DIR/foreign.jsonl"
out_has '^fault: +malformed'
out_has "^at: +$g\$"
run 5 witness append --component x --event z --server "$NATS_URL"
err_is_one_error
err_has "cannot append: the ledger's last message \(stream 'IF_WITNESS' sequence [0-9]+\) is not a witness entry"
err_has '\[ledger-foreign\]'
err_has 'the ledger needs an operator'

finish
