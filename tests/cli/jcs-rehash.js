// Recompute every entry hash of an ifctl witness export (JSON lines on
// stdin) with node alone: drop "type" and "hash", canonicalise by RFC 8785
// (keys by JavaScript's sort, JSON.stringify for the rest), SHA-256.
// Prints "entries N, mismatches M"; exits 1 on any mismatch.
'use strict';
const crypto = require('crypto');
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter(Boolean);

function jcs(v) {
	if (v === null || typeof v !== 'object') return JSON.stringify(v);
	if (Array.isArray(v)) return '[' + v.map(jcs).join(',') + ']';
	return '{' + Object.keys(v).sort().map(k => JSON.stringify(k) + ':' + jcs(v[k])).join(',') + '}';
}

let n = 0, bad = 0;
for (const line of lines) {
	const o = JSON.parse(line);
	if (o.type !== 'entry' || o.v !== 2) continue;
	const want = o.hash;
	delete o.type;
	delete o.hash;
	const got = crypto.createHash('sha256').update(jcs(o), 'utf8').digest('hex');
	n++;
	if (got !== want) {
		bad++;
		console.error(`entry ${o.seq}: node computes ${got}, ifctl stored ${want}`);
	}
}
console.log(`entries ${n}, mismatches ${bad}`);
process.exit(bad || n === 0 ? 1 : 0);
