# Hostile input files: devices, FIFOs, directories, files over their limit, NUL
# bytes, and YAML built to exhaust the stack, the CPU or memory. Each is refused
# with exit 2 and one error line, at once, and changes nothing.
. "$(dirname "$0")/lib.sh"
F=fixtures/config
W=fixtures/witness

# Every run is under a timeout: a read that blocks fails the test, not the suite.
printf '#!/bin/sh\nexec timeout 10 "%s" "$@"\n' "$(realpath "$IFCTL")" >"$T_DIR/ifctl"
chmod +x "$T_DIR/ifctl"
IFCTL=$T_DIR/ifctl

# repeat N TEXT: TEXT N times, on one line.
repeat() { yes "$2" | head -n "$1" | tr -d '\n'; }

mkfifo "$T_DIR/fifo"
mkdir "$T_DIR/dir"
printf '{"a":1}\0{"b":2}' >"$T_DIR/nul.json"

# refused CODE PATTERN ARGS...: exit CODE, one error and its remedy, PATTERN on stderr.
refused() {
	code=$1 pat=$2; shift 2
	run "$code" "$@"
	err_is_one_error
	err_has "$pat"
}

# Configuration files: not a regular file, over 1 MiB, NUL inside.
for cmd in version "config validate"; do
	refused 2 "'/dev/zero': it is a character device, not a regular file" --config /dev/zero $cmd
	refused 2 'it is a FIFO, not a regular file' --config "$T_DIR/fifo" $cmd
	refused 2 'it is a directory, not a regular file' --config "$T_DIR/dir" $cmd
done
refused 2 "'/dev/zero': it is a character device" config validate /dev/zero
refused 2 'it is a FIFO' config validate "$T_DIR/fifo"
head -c 1048575 /dev/zero | tr '\0' '#' >"$T_DIR/max.yaml"
echo >>"$T_DIR/max.yaml"
run 0 --config "$T_DIR/max.yaml" version
printf '#' >>"$T_DIR/max.yaml"
refused 2 "max.yaml' is larger than the limit of 1 MiB" --config "$T_DIR/max.yaml" version
refused 2 "nul.json' contains a NUL byte at offset 7" --config "$T_DIR/nul.json" version

# YAML: 500 KB of nesting, a 200 KB nested sequence, an alias bomb, two documents.
{ printf 'nats: '; repeat 100000 '{a: '; printf 1; repeat 100000 '}'; echo; } >"$T_DIR/deep.yaml"
check "[ $(stat -c %s "$T_DIR/deep.yaml") -gt 500000 ]"
refused 2 'deep.yaml: line 1: nested deeper than 64 levels' --config "$T_DIR/deep.yaml" version
err_has '\[config-syntax\]'
{ printf 'nats: '; repeat 100000 '['; repeat 100000 ']'; echo; } >"$T_DIR/seq.yaml"
t0=$(date +%s%N)
refused 2 'line 1: nats: expected a value or a mapping, found a list' config validate "$T_DIR/seq.yaml"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "[ $ms -lt 1000 ]"
# The bomb would expand to 387 million values: refused at once, in 256 MiB of
# address space (not under a sanitizer, whose shadow memory needs terabytes).
case $BUILD in *-san*|*-tsan*) vmem=unlimited ;; *) vmem=262144 ;; esac
t0=$(date +%s%N)
(ulimit -v $vmem && exec "$IFCTL" config validate $F/bad-alias-bomb.yaml) >"$OUT" 2>"$ERR"
check "[ $? = 2 ]"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "[ $ms -lt 1000 ]"
err_has "100 problems in '$F/bad-alias-bomb.yaml'; reading stopped at: .*line 4: unknown key 'c.k0.k1.k0'"
# A file of a hundred thousand unknown keys: validate stops listing at 100.
seq 0 99999 | sed 's/.*/k&: 1/' >"$T_DIR/many.yaml"
refused 2 "100 problems in '.*many.yaml'; reading stopped at: .*line 100: unknown key 'k99'" \
	config validate "$T_DIR/many.yaml"
check "[ $(wc -l <"$OUT") = 101 ]"	# a header and 100 rows
refused 2 "line 2: unknown key 'a.k0'" --config $F/bad-alias-bomb.yaml version
refused 2 'bad-two-docs.yaml: line 4: a second YAML document' --config $F/bad-two-docs.yaml version
refused 2 'line 4: a second YAML document' config validate $F/bad-two-docs.yaml

# Exported ledgers and key files.
refused 2 "'/dev/zero': it is a character device" witness verify --file /dev/zero
refused 2 'it is a FIFO' witness verify --file "$T_DIR/fifo"
refused 2 'it is a directory' witness verify --file "$T_DIR/dir"
refused 2 "nul.json' contains a NUL byte at offset 7" witness verify --file "$T_DIR/nul.json"
refused 2 "'/dev/zero': it is a character device" witness verify -f $W/good.jsonl --key @/dev/zero
refused 2 'it is a FIFO' witness verify -f $W/good.jsonl --key @"$T_DIR/fifo"
head -c 4097 /dev/zero | tr '\0' 'k' >"$T_DIR/big.vkey"
refused 2 "big.vkey' is larger than the limit of 4 KiB" witness verify -f $W/good.jsonl \
	--key @"$T_DIR/big.vkey"
"$IFCTL" witness verify --file - --key @$W/key.vkey <$W/good.jsonl >"$OUT" 2>"$ERR"
check "[ $? = 0 ]"
out_has '^entries: +30'

# JSON @FILE payloads: up to 8 MiB (the NATS max payload), text only.
run 0 up -q
"$IFCTL" task list -o json >"$T_DIR/tasks-before"
"$IFCTL" witness tail -n 1000 -o jsonl >"$T_DIR/witness-before"
refused 2 "--payload: cannot read '/dev/zero': it is a character device" task push t-1 --payload @/dev/zero
refused 2 '--payload: .* it is a FIFO' task push t-1 --payload @"$T_DIR/fifo"
refused 2 '--payload: .* it is a directory' task push t-1 --payload @"$T_DIR/dir"
refused 2 "--payload: '.*nul.json' contains a NUL byte at offset 7" task push t-1 --payload @"$T_DIR/nul.json"
refused 2 "--payload: .*nul.json' contains a NUL byte at offset 7" witness append --component c \
	--event e --payload @"$T_DIR/nul.json"
refused 2 "--payload: .* it is a character device" witness append --component c --event e \
	--payload @/dev/zero
{ printf '"'; head -c $((8 * 1024 * 1024 - 3)) /dev/zero | tr '\0' x; printf '"\n'; } >"$T_DIR/big.json"
check "[ $(stat -c %s "$T_DIR/big.json") = 8388608 ]"
printf ' ' >>"$T_DIR/big.json"
refused 2 "--payload: '.*big.json' is larger than the limit of 8 MiB" task push t-1 --payload @"$T_DIR/big.json"
"$IFCTL" task push t-1 --payload @- </dev/zero >"$OUT" 2>"$ERR"
check "[ $? = 2 ]"
err_has "--payload: 'standard input' is larger than the limit of 8 MiB"
"$IFCTL" task list -o json >"$T_DIR/tasks-after"
"$IFCTL" witness tail -n 1000 -o jsonl >"$T_DIR/witness-after"
check "cmp -s '$T_DIR/tasks-before' '$T_DIR/tasks-after'"
check "cmp -s '$T_DIR/witness-before' '$T_DIR/witness-after'"
echo '{"file":"a.log"}' | "$IFCTL" task push t-1 --payload @- -o json >"$OUT" 2>"$ERR"
check "[ $? = 0 ]"
run 0 task show t-1 -o json
out_has '"payload":\{"file":"a.log"\}'

# The man pages state the limits the code enforces.
depth=$(sed -n 's/^#define YAML_MAX_DEPTH[[:space:]]*\([0-9]*\).*/\1/p' src/core/yamlx.h)
nodes=$(sed -n 's/^#define YAML_MAX_ALIAS_NODES[[:space:]]*\([0-9]*\).*/\1/p' src/core/yamlx.h)
check "grep -q 'nest at most $depth deep' man/ifctl-config.5"
check "grep -q 'at most $nodes values' man/ifctl-config.5"
check "grep -q 'regular file of at most 1 MiB' man/ifctl-config.5"
check "grep -q 'JSON files' man/ifctl.1 && grep -q 'at most 8 MiB' man/ifctl.1"
check "grep -q 'at most 4 KiB' man/ifctl-witness.1 && grep -q 'at most 4 GiB' man/ifctl-witness.1"

finish
