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

# Without --key the file's own key is used, and --why says what that proves.
run 0 witness verify -f $W/resigned.jsonl --why
out_has 'integrity, not who wrote it'

# Bad input: malformed file, missing file, bad key, no --file.
run 2 witness verify -f $W/malformed.jsonl --key $KEY
err_has "line 3: not a ledger line"
run 3 witness verify -f $W/nonexistent.jsonl
err_has "cannot read"
run 2 witness verify -f $W/good.jsonl --key 'not+a+key'
err_has 'malformed verifier key'
run 2 witness verify
err_has 'needs --file'
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

finish
