# Print "ratio claim_p99_ms floor_p99_ms double_claims lost" from the tsv
# output of 'ifctl task bench' on stdin. The ratio is claim p99 at the fixed
# rate over the p99 of a bare KV CAS update measured in the same run.
awk -F'\t' '
	$1 ~ /^claim @/ { claim = $5 }
	$1 == "bare KV update (CAS)" { floor = $5 }
	NF >= 6 && $1 ~ /^[0-9]+$/ && prev_hdr == "pushed" { dbl = $4; lost = $5 }
	{ prev_hdr = $1 }
	END {
		if (claim == "" || floor == "" || floor == 0) { print "bench: no figures" > "/dev/stderr"; exit 1 }
		printf "%.3f %s %s %s %s\n", claim / floor, claim, floor, dbl, lost
	}'
