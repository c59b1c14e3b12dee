// A client of the fleet that knows only ifctl-protocol(7): it pushes,
// claims, heartbeats, completes, fails and releases tasks in the IF_TASKS
// bucket by compare-and-swap, publishes the events of its changes, and
// reads everyone's events. tests/cli/t-interop.sh runs it next to ifctl's
// own claimers. Section names in comments are the page's.
'use strict';
const crypto = require('crypto');
const { connect, StringCodec } = require('nats');

const sc = StringCodec();
const BUCKET = 'IF_TASKS';
const LEASE_MS = 30000;		// TASKS, Leases and clocks: the fleet's coordinator.lease_ms
const BACKOFF_MS = 1000;	// coordinator.retry_backoff_ms
const BACKOFF_MAX_MS = 3600000;
const STATES = ['queued', 'claimed', 'done', 'failed', 'dead'];

// JSON: records are stored in RFC 8785 form (members sorted, JSON.stringify otherwise).
function jcs(v) {
	if (v === null || typeof v !== 'object') return JSON.stringify(v);
	if (Array.isArray(v)) return '[' + v.map(jcs).join(',') + ']';
	return '{' + Object.keys(v).sort().map(k => JSON.stringify(k) + ':' + jcs(v[k])).join(',') + '}';
}

// Ids: 1-128 of A-Z a-z 0-9 - _ ., no '..', no '.' at either end, never 'idem.'.
function validId(id) {
	return /^[A-Za-z0-9_.-]{1,128}$/.test(id) && !id.startsWith('idem.') &&
		!id.startsWith('.') && !id.endsWith('.') && !id.includes('..');
}

// Idempotency keys: key 'idem.' + the first 16 bytes of SHA-256(key) in hex.
function idemKey(key) {
	return 'idem.' + crypto.createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 32);
}

class Fleet {
	constructor(nc, kv, actor) {
		this.nc = nc;
		this.kv = kv;
		this.actor = actor;
	}

	static async open(url, actor) {
		const nc = await connect({ servers: url, name: 'interop-' + actor });
		const kv = await nc.jetstream().views.kv(BUCKET, { bindOnly: true });
		return new Fleet(nc, kv, actor);
	}

	// EVENTS: if.v1.evt.task.<state>, the state after the change.
	// ARCHIVE AND READY QUEUE: a task that became queued has its id on the
	// ready queue of its priority, after the write, acknowledged by the stream.
	async ready(t) {
		await this.nc.jetstream().publish('if.v1.queue.task.' + t.priority, sc.encode(t.id));
	}

	event(verb, t, by, trace) {
		const ev = { v: 1, type: 'task', verb, id: t.id, state: t.state, owner: t.owner,
			     token: t.token, rev: t.rev, attempts: t.attempts, at: t.updated, by,
			     trace, why: null };
		this.nc.publish('if.v1.evt.task.' + t.state, sc.encode(JSON.stringify(ev)));
	}

	async get(id) {
		const e = await this.kv.get(id);
		if (!e || e.operation !== 'PUT') return null;
		const t = JSON.parse(sc.decode(e.value));
		t.rev = e.revision;
		return t;
	}

	// Write t on the revision it was read at; t.rev becomes the new one.
	async cas(t) {
		const rev = t.rev;
		delete t.rev;
		try {
			t.rev = await this.kv.update(t.id, sc.encode(jcs(t)), rev);
			return true;
		} catch (err) {
			t.rev = rev;
			if (/wrong last sequence/i.test(String(err.message))) return false;
			throw err;
		}
	}

	history(t, state, note) {
		t.history.push({ at: t.updated, state, by: this.actor, token: t.token, note: note || null });
		if (t.history.length > 64) t.history.shift();
	}

	// TASKS, Push: the idempotency key first, then the task; both created only if absent.
	async push(spec) {
		const now = Date.now();
		const trace = crypto.randomBytes(16).toString('hex');
		const id = spec.id || 't-' + crypto.randomBytes(6).toString('hex');
		if (!validId(id)) throw new Error('invalid id ' + id);
		if (spec.idempotency_key) {
			const k = idemKey(spec.idempotency_key);
			try {
				await this.kv.create(k, sc.encode(id));
			} catch (err) {
				const e = await this.kv.get(k);
				const first = e && await this.get(sc.decode(e.value));
				if (first && first.idempotency_key === spec.idempotency_key) return { task: first, existed: true };
				throw new Error('idempotency key taken by a push that did not finish: ' + err.message);
			}
		}
		const t = {
			v: 1, id, title: spec.title || '', capabilities: spec.capabilities || [],
			priority: spec.priority === undefined ? 5 : spec.priority, budget: 0,
			payload: spec.payload === undefined ? null : spec.payload,
			idempotency_key: spec.idempotency_key || null, to: spec.to || null,
			state: 'queued', owner: null, token: 0, lease_until: 0, attempts: 0,
			max_attempts: spec.max_attempts || 5, not_before: 0, created: now, updated: now,
			result: null, reason: null, trace, history: [],
		};
		this.history(t, 'queued');
		t.rev = await this.kv.create(id, sc.encode(jcs(t)));
		await this.ready(t);
		this.event('push', t, this.actor, trace);
		return { task: t, existed: false };
	}

	// Every task: the last value of each key (keys beginning 'idem.' are not tasks).
	async keys() {
		const keys = [];
		for await (const k of await this.kv.keys())
			if (!k.startsWith('idem.')) keys.push(k);
		return keys;
	}

	async list() {
		const out = [];
		for (const k of await this.keys()) {
			const t = await this.get(k);
			if (t) out.push(t);
		}
		return out;
	}

	// TASKS, Claim: ready = queued and past not_before, or claimed with the lease
	// passed; 'to' empty or this swarm; every capability offered. Best first:
	// priority, then created. Lost races (a refused update) go on to the next.
	async claim(swarm, caps) {
		const now = Date.now();
		const ready = (await this.list()).filter(t =>
			((t.state === 'queued' && t.not_before <= now) ||
			 (t.state === 'claimed' && t.lease_until <= now)) &&
			(!t.to || t.to === swarm) &&
			(t.capabilities || []).every(c => caps.includes(c)));
		ready.sort((a, b) => b.priority - a.priority || a.created - b.created);
		for (const t of ready) {
			const takeover = t.state === 'claimed';
			if (t.attempts >= t.max_attempts) {	// the last attempt's lease ran out: it dies
				t.state = 'dead';
				t.reason = `lease expired after ${t.attempts} of ${t.max_attempts} attempts`;
				t.updated = now;
				t.lease_until = 0;
				t.history.push({ at: now, state: 'dead', by: 'coordinator', token: t.token, note: t.reason });
				if (await this.cas(t)) this.event('dead', t, 'coordinator', t.trace);
				continue;
			}
			t.token = t.rev;
			t.owner = swarm;
			t.state = 'claimed';
			t.attempts += 1;
			t.lease_until = now + LEASE_MS;
			t.updated = now;
			t.history.push({ at: now, state: 'claimed', by: swarm, token: t.token,
					 note: takeover ? 'lease takeover' : null });
			if (await this.cas(t)) {
				this.event(takeover ? 'takeover' : 'claim', t, swarm, t.trace);
				return t;
			}
		}
		return null;
	}

	// TASKS, Owner operations: claimed, by this swarm, with this token, lease not passed.
	async owner(verb, id, swarm, token, arg) {
		for (let tries = 0; tries < 5; tries++) {
			const now = Date.now();
			const t = await this.get(id);
			if (!t) throw new Error(`task '${id}' not found`);
			if (t.state !== 'claimed' || t.owner !== swarm || t.token !== token || t.lease_until <= now)
				throw new Error(`cannot ${verb} task '${id}': not held by ${swarm} with token ${token}`);
			let note = null;
			t.updated = now;
			if (verb === 'heartbeat') {
				t.lease_until = now + LEASE_MS;
			} else if (verb === 'complete') {
				t.state = 'done';
				t.result = arg === undefined ? null : arg;
				t.lease_until = 0;
			} else if (verb === 'release') {
				t.state = 'queued';
				t.attempts -= 1;
				t.owner = null;
				t.lease_until = 0;
			} else if (verb === 'fail') {
				t.reason = note = (arg && arg.reason) || 'failed';
				t.lease_until = 0;
				if (arg && arg.noRetry) {
					t.state = 'failed';
				} else if (t.attempts >= t.max_attempts) {
					t.state = 'dead';
				} else {
					let d = (arg && arg.backoff_ms) || BACKOFF_MS;	// the failer's retry_backoff_ms
					for (let i = 1; i < t.attempts && d < BACKOFF_MAX_MS; i++) d *= 2;
					t.state = 'queued';
					t.not_before = now + d;
					t.owner = null;
				}
			}
			if (verb !== 'heartbeat') t.history.push({ at: now, state: t.state, by: swarm, token: t.token, note });
			if (await this.cas(t)) {
				if (t.state === 'queued') await this.ready(t);
				this.event(verb, t, swarm, t.trace);
				return t;
			}
		}
		throw new Error(`task '${id}' keeps changing`);
	}

	close() {
		return this.nc.drain();
	}
}

// The scenario t-interop.sh drives: node fleet.js URL COMMAND ...
async function main() {
	const [url, cmd, ...args] = process.argv.slice(2);
	const f = await Fleet.open(url, 'js@interop');
	const out = x => process.stdout.write(JSON.stringify(x) + '\n');
	try {
		if (cmd === 'push') {		// push N PREFIX [KEY]
			const [n, prefix, key] = args;
			for (let i = 0; i < Number(n); i++) {
				const r = await f.push({ id: `${prefix}-${i}`, title: `js task ${i}`,
					priority: i % 10, capabilities: i % 3 ? [] : ['summarise'],
					idempotency_key: key && i === 0 ? key : undefined });
				out({ id: r.task.id, existed: r.existed });
			}
		} else if (cmd === 'push-one') {	// push-one JSON-SPEC
			const r = await f.push(JSON.parse(args[0]));
			out({ id: r.task.id, existed: r.existed, rev: r.task.rev });
		} else if (cmd === 'drain') {	// drain SWARM: claim, heartbeat, complete (every 7th fails once)
			const [swarm] = args;
			let idle = 0;
			while (idle < 20) {
				const t = await f.claim(swarm, ['summarise']);
				if (!t) { idle++; await new Promise(r => setTimeout(r, 100)); continue; }
				idle = 0;
				const h = await f.owner('heartbeat', t.id, swarm, t.token);
				if (t.attempts === 1 && Number(t.id.split('-').pop()) % 7 === 3) {
					await f.owner('fail', t.id, swarm, h.token, { reason: 'interop retry' });
					out({ swarm, id: t.id, token: t.token, did: 'fail' });
					continue;
				}
				await f.owner('complete', t.id, swarm, h.token, { by: swarm });
				out({ swarm, id: t.id, token: t.token, did: 'complete' });
			}
		} else if (cmd === 'claim') {	// claim SWARM [CAP,...]
			const t = await f.claim(args[0], (args[1] || '').split(',').filter(Boolean));
			out(t);
		} else if (cmd === 'owner') {	// owner VERB ID SWARM TOKEN [JSON-ARG]
			const [verb, id, swarm, token, arg] = args;
			out(await f.owner(verb, id, swarm, Number(token), arg ? JSON.parse(arg) : undefined));
		} else if (cmd === 'events') {	// events MS: every task event seen for MS ms, one per line
			const sub = f.nc.subscribe('if.v1.evt.task.>');
			setTimeout(() => sub.unsubscribe(), Number(args[0]));
			process.stdout.write('ready\n');
			for await (const m of sub) process.stdout.write(m.subject + ' ' + sc.decode(m.data) + '\n');
		} else if (cmd === 'usage') {	// usage JSON: one usage record on if.v1.cost.usage.<swarm> (COST AND BUDGETS)
			const u = JSON.parse(args[0]);
			const ack = await f.nc.jetstream().publish('if.v1.cost.usage.' + u.swarm, sc.encode(JSON.stringify(u)));
			out({ stream: ack.stream, seq: ack.seq });
		} else if (cmd === 'records') {	// records: every task record as stored, one per line
			for (const k of await f.keys()) {
				const e = await f.kv.get(k);
				if (e && e.operation === 'PUT') process.stdout.write(sc.decode(e.value) + '\n');
			}
		} else {
			throw new Error('unknown command ' + cmd);
		}
	} finally {
		await f.close();
	}
}

if (require.main === module)
	main().catch(err => { process.stderr.write('fleet.js: ' + err.message + '\n'); process.exit(1); });
module.exports = { Fleet, jcs, idemKey, validId, STATES };
