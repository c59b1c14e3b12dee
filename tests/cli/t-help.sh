# Help is complete and generated from the tables: every command and
# subcommand has a synopsis, options, two or three examples, see also and,
# when it prints JSON, a schema that exists; 'ifctl help -o json' is one
# document that conforms to schemas/help.schema.json; every topic answers.
# A new command without examples or see_also fails here.
. "$(dirname "$0")/lib.sh"
SCHEMACHECK=$BUILD/tests/schemacheck

run 0 help -o json
out_json
if "$SCHEMACHECK" schemas/help.schema.json <"$OUT" 2>"$T_DIR/schema.err"; then ok
else not_ok "help -o json does not conform: $(head -3 "$T_DIR/schema.err")"; fi
cp "$OUT" "$T_DIR/help.json"

# Every command, from the contract: its --help has what the contract says.
node - "$T_DIR/help.json" >"$T_DIR/commands" 2>"$T_DIR/node.err" <<'JS'
const doc = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const walk = (c, alias) => {
	const words = c.path.split(' ');
	const names = [c.path].concat(alias ? [c.path.replace(/^\S+/, alias)] : []);
	const bad = [];
	if (c.examples.length < 2 || c.examples.length > 3) bad.push(`${c.examples.length} examples`);
	for (const e of c.examples)
		if (!/(^|[(<] ?)ifctl /.test(e)) bad.push(`example not an ifctl line: ${e}`);
	if (!c.examples.some(e => names.some(n => e.includes(n)) ||
	    (words.length === 1 && c.subcommands.some(s => e.includes(s.name)))))
		bad.push('no example runs the command itself');
	if (!c.see_also.length) bad.push('no see also');
	console.log([c.path, c.output ? c.output.schema : '-', c.subcommands.length,
		     c.options.map(o => '--' + o.name + (o.arg ? ' ' + o.arg : '')).join('|') || '-',
		     bad.join('; ')].join('\t'));
	for (const s of c.subcommands) walk(s, alias);
};
for (const c of doc.commands) walk(c, c.alias);
JS
[ -s "$T_DIR/commands" ] && ok || not_ok "node could not read the contract: $(cat "$T_DIR/node.err")"
n=0
while IFS="$(printf '\t')" read -r path schema nsubs opts bad; do
	n=$((n + 1))
	[ -z "$bad" ] && ok || not_ok "ifctl $path: $bad"
	[ "$schema" = - ] || [ -f "$schema" ] && ok || not_ok "ifctl $path: no $schema"
	# shellcheck disable=SC2086
	run 0 $path --help
	out_has "^Usage: ifctl $path"
	out_has '^Examples:$'
	out_has '^See also: '
	out_has '^Global options:$'
	[ "$nsubs" = 0 ] || out_has '^Subcommands:$'
	# every option of the command is in its help, with its argument
	printf '%s' "$opts" | tr '|' '\n' | while read -r o; do
		[ "$o" = - ] || grep -qF -- "$o" "$OUT" || echo "ifctl $path --help lacks $o"
	done >"$T_DIR/missing"
	[ -s "$T_DIR/missing" ] && not_ok "$(cat "$T_DIR/missing")" || ok
done <"$T_DIR/commands"
check "[ $n -ge 40 ]"
echo "# $n commands and subcommands: help, examples, see also, schema checked"

# Every help example names a real command with real options: each, cut at
# its first pipe, redirection or comment, parses (run with --help, which
# checks the words and options and touches nothing).
jq -r '.. | objects | select(has("examples")) | .examples[]' "$T_DIR/help.json" >"$T_DIR/examples"
ne=0
while IFS= read -r ex; do
	cmd=${ex#*ifctl }
	cmd=${cmd%%#*}
	cmd=${cmd%%|*}
	cmd=${cmd%%>*}
	cmd=${cmd%%)*}
	cmd=${cmd%%&&*}
	eval "set -- $cmd"
	ne=$((ne + 1))
	LAST="help example: $ex"
	if "$IFCTL" "$@" --help >"$OUT" 2>"$ERR"; then ok; else not_ok "$LAST: does not parse"; fi
done <"$T_DIR/examples"
check "[ $ne -ge 90 ]"
echo "# $ne help examples parse"

# The contract's options and exit codes are the tables': spot checks that can fail.
grep -q '"path":"coordinator push".*"name":"idempotency-key","short":"k","arg":"KEY"' "$T_DIR/help.json" \
	&& ok || not_ok "contract lacks task push -k"
grep -q '{"code":3,"meaning":"not found","errors":\["not-found","no-schema"' "$T_DIR/help.json" \
	&& ok || not_ok "contract exit code 3 is not not-found, no-schema"
grep -q '"global_options":\[{"name":"output","short":"o","arg":"FORMAT"' "$T_DIR/help.json" \
	&& ok || not_ok "contract lacks -o"

# One command's entry alone, for a program that needs only it.
run 0 help task push -o json
out_json
check "[ \"\$(jq -r .path '$OUT')\" = 'coordinator push' ] && [ \"\$(jq '.examples | length' '$OUT')\" -ge 2 ]"

# Topics.
run 0 help workflows
out_has '^  \$ ifctl up$'
run 0 help exit-codes
out_has '^ +3 +not found +not-found, no-schema$'
run 0 help exit-codes -o json
out_json
run 0 help config -o tsv --no-headers
out_has '^nats.timeout_ms'
run 0 help errors
out_has 'not-found'
run 2 help no-such-topic
err_is_one_error
run 0 --help
out_has "^Topics \('ifctl help TOPIC'\): workflows, config, exit-codes, errors"

# A remedy that fits the situation replaces the catalogue's; one line still.
run 0 up
run 3 task claim --swarm s1
err_is_one_error
err_has "^remedy: the queue is empty: push a task with 'ifctl task push --title TEXT' \[not-found\]$"
run 0 task push h-1 --title needs-gpu -c gpu
run 0 task push h-2 --title elsewhere --to s2
run 0 task push h-3 --title leased
run 0 task claim --swarm s3
run 3 task claim --swarm s1
err_is_one_error
err_has "needing a capability this swarm did not offer: 1 \('h-1' needs 'gpu'"
err_has "pushed --to another swarm: 1 \('h-2' for 's2'"
err_has "under a running lease: 1 \('h-3' held by 's3' until 20[0-9-]+T[0-9:.]+Z"
err_lacks() { if grep -qE -- "$1" "$ERR"; then not_ok "$LAST: stderr has /$1/"; else ok; fi; }
err_lacks "list what exists"
run 0 task claim --swarm s1 -c gpu
out_has 'h-1'

finish
