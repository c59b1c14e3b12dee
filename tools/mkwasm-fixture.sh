#!/bin/sh
# Build fixtures/swarms/wasm/module.wasm from module.wat (wabt's wat2wasm),
# then append the custom section "ifctl.capabilities" that swarm spawn reads.
set -eu
dir=fixtures/swarms/wasm
wat2wasm "$dir/module.wat" -o "$dir/module.wasm"
name=ifctl.capabilities
payload='["integration:webrtc"]'
# section: id 0, size, then the name (length-prefixed) and the payload; all < 128 bytes
size=$(( 1 + ${#name} + ${#payload} ))
printf "\\000\\$(printf %o "$size")\\$(printf %o "${#name}")%s%s" "$name" "$payload" >>"$dir/module.wasm"
