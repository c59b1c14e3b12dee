// Answers from node's own JSON.stringify for tests/cli/t-jcs.sh.
//   node jcs-oracle.js numbers N SEED   N lines "HEX16 ES6-FORM"
//   node jcs-oracle.js docs N SEED      N pairs of lines: a JSON text, its RFC 8785 form
// The canonical form is RFC 8785's own definition: keys sorted by
// JavaScript's default sort (UTF-16 code units), JSON.stringify for the rest.
'use strict';
const [mode, nArg, seedArg] = process.argv.slice(2);
const n = Number(nArg);
let seed = BigInt(seedArg || 1) | 1n;

// xorshift64*: the same inputs for the same seed, on every machine.
function next64() {
	seed ^= seed >> 12n; seed ^= (seed << 25n) & 0xffffffffffffffffn; seed ^= seed >> 27n;
	return (seed * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn;
}
function rnd() { return Number(next64() >> 11n) / 2 ** 53; }
const view = new DataView(new ArrayBuffer(8));

function randomDouble(i) {
	switch (i % 4) {
	case 0: {	// any bit pattern but NaN and infinities
		let b;
		do { b = next64(); } while (((b >> 52n) & 0x7ffn) === 0x7ffn);
		view.setBigUint64(0, b);
		return view.getFloat64(0);
	}
	case 1: return (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20);	// everyday sizes
	case 2: return Math.round(rnd() * 1e6) / 10 ** Math.floor(rnd() * 8);	// decimals
	default: {	// near powers of two, where the shortest form is hardest
		view.setFloat64(0, 2 ** Math.floor(rnd() * 2000 - 1000));
		const b = view.getBigUint64(0) + BigInt(Math.floor(rnd() * 3)) - 1n;
		view.setBigUint64(0, b);
		const d = view.getFloat64(0);
		return Number.isFinite(d) ? d : 1;
	}
	}
}

function hex(d) { view.setFloat64(0, d); return view.getBigUint64(0).toString(16).padStart(16, '0'); }

function jcs(v) {
	if (v === null || typeof v !== 'object') return JSON.stringify(v);
	if (Array.isArray(v)) return '[' + v.map(jcs).join(',') + ']';
	return '{' + Object.keys(v).sort().map(k => JSON.stringify(k) + ':' + jcs(v[k])).join(',') + '}';
}

const chars = ['a', 'b', 'Z', '0', ' ', '"', '\\', '\n', '\u0000', '\u001f', '\u007f', '\u00e9',
	       '\u20ac', '\ufb33', '\uffff', '\ud83d\ude02', '\u{10000}', '\u2028', '/', '\b', '\f'];
function randomString() {
	let s = '';
	for (let k = Math.floor(rnd() * 6); k > 0; k--) s += chars[Math.floor(rnd() * chars.length)];
	return s;
}
function randomValue(depth) {
	const r = rnd();
	if (depth > 3 || r < 0.3) {
		const t = Math.floor(rnd() * 5);
		if (t === 0) return randomString();
		if (t === 1) return randomDouble(Math.floor(rnd() * 4));
		if (t === 2) return Math.floor(rnd() * 2e9) - 1e9;
		return [null, true, false][t - 2] ?? null;
	}
	if (r < 0.6) {
		const a = [];
		for (let k = Math.floor(rnd() * 4); k > 0; k--) a.push(randomValue(depth + 1));
		return a;
	}
	const o = {};
	for (let k = Math.floor(rnd() * 5); k > 0; k--) o[randomString()] = randomValue(depth + 1);
	return o;
}

// Written with white space and \u escapes, so the reader has work to do.
function loosely(v) {
	return JSON.stringify(v, null, 1).replace(/\n/g, ' ')
		.replace(/[\u00e9\u20ac]/g, c => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

const out = [];
for (let i = 0; i < n; i++) {
	if (mode === 'numbers') {
		const d = randomDouble(i);
		out.push(hex(d) + ' ' + JSON.stringify(d));
	} else {
		const v = { doc: randomValue(0), n: i };
		out.push(loosely(v), jcs(v));
	}
	if (out.length >= 10000) { process.stdout.write(out.join('\n') + '\n'); out.length = 0; }
}
if (out.length) process.stdout.write(out.join('\n') + '\n');
