// Read RFC 4180 CSV on stdin (quoted fields, doubled quotes, CRLF records) and
// print it as a JSON array of objects keyed by the header row. Exit 1 on a
// malformed file: a quote inside an unquoted field, text after a closing
// quote, an unterminated quote, a record of the wrong width.
'use strict';
const text = require('fs').readFileSync(0, 'utf8');
const rows = [];
let row = [], field = '', i = 0, quoted = false;
function fail(why) { process.stderr.write('csv: ' + why + ' at ' + i + '\n'); process.exit(1); }
while (i < text.length) {
	const c = text[i];
	if (quoted) {
		if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
		if (c === '"') {
			quoted = false; i++;
			if (i < text.length && text[i] !== ',' && text[i] !== '\r') fail('text after a quote');
			continue;
		}
		field += c; i++; continue;
	}
	if (c === '"') { if (field !== '') fail('quote in a field'); quoted = true; i++; continue; }
	if (c === ',') { row.push(field); field = ''; i++; continue; }
	if (c === '\r') {
		if (text[i + 1] !== '\n') fail('CR without LF');
		row.push(field); rows.push(row); row = []; field = ''; i += 2; continue;
	}
	if (c === '\n') fail('LF without CR');
	field += c; i++;
}
if (quoted) fail('unterminated quote');
if (field !== '' || row.length) fail('last record without CRLF');
const head = rows.shift() || [];
const out = rows.map(r => {
	if (r.length !== head.length) fail('record of ' + r.length + ' fields, header ' + head.length);
	const o = {}; head.forEach((h, k) => { o[h] = r[k]; }); return o;
});
process.stdout.write(JSON.stringify(out) + '\n');
