/*
 * The event bus over nats.c: stream and bucket administration (create when
 * missing, stat, read one message, drop). See bus.h.
 */
#include <stdlib.h>
#include <string.h>

#include "core/bus-int.h"
#include "core/json.h"
#include "core/util.h"

/* --- streams and buckets ----------------------------------------------- */

/* A stream's info (the caller destroys *si); ST_NO_SCHEMA when it does not exist. */
static enum status
stream_info(struct bus *b, const char *stream, jsStreamInfo **si, struct err *e)
{
	jsErrCode jerr = 0;
	natsStatus s;
	enum status st;
	char what[128];

	*si = NULL;
	snprintf(what, sizeof what, "stream '%s'", stream);
	if ((st = bus_ready(b, what, e)) != ST_OK)
		return st;
	s = js_GetStreamInfo(si, b->js, stream, NULL, &jerr);
	if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr)
		return err_set(e, ST_NO_SCHEMA, "stream '%s' does not exist", stream);
	return s == NATS_OK ? ST_OK : bus_map_err(b, s, jerr, what, e);
}

enum status
bus_stream_stat(struct bus *b, const char *stream, struct bus_stream_stat *out,
		struct err *e)
{
	jsStreamInfo *si = NULL;
	enum status st;

	memset(out, 0, sizeof *out);
	if ((st = stream_info(b, stream, &si, e)) != ST_OK)
		return st;
	out->msgs = si->State.Msgs;
	out->bytes = si->State.Bytes;
	out->first_seq = si->State.FirstSeq;
	out->last_seq = si->State.LastSeq;
	out->consumers = si->State.Consumers;
	out->subjects = si->State.NumSubjects;
	out->created_ns = si->Created;
	jsStreamInfo_Destroy(si);
	return ST_OK;
}

/* A refusal of a replica count as a clear error about what. */
static enum status
replicas_err(struct bus *b, natsStatus s, jsErrCode jerr, int replicas, const char *what,
	     struct err *e)
{
	if (jerr == JSClusterNoPeersErr || jerr == JSInsufficientResourcesErr)
		return err_set(e, ST_BAD_VALUE, "%s: %d replicas need a cluster of at least %d "
			       "JetStream servers, and the server's cluster has fewer", what,
			       replicas, replicas);
	if (jerr == JSStreamReplicasNotSupportedErr || jerr == JSClusterNotActiveErr)
		return err_set(e, ST_BAD_VALUE, "%s: %d replicas need a cluster, and the server "
			       "runs alone (use --replicas 1, or a cluster)", what, replicas);
	return bus_map_err(b, s, jerr, what, e);
}

/*
 * Give an existing stream replicas copies when it has another count:
 * *updated tells whether it changed.
 */
static enum status
stream_replicas(struct bus *b, const char *stream, int replicas, bool *updated, struct err *e)
{
	jsStreamInfo *si = NULL, *nsi = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	char what[128];

	*updated = false;
	snprintf(what, sizeof what, "cannot give stream '%s' %d replicas", stream, replicas);
	s = js_GetStreamInfo(&si, b->js, stream, NULL, &jerr);
	if (s == NATS_OK && si->Config->Replicas != replicas && replicas > 0) {
		si->Config->Replicas = replicas;
		s = js_UpdateStream(&nsi, b->js, si->Config, NULL, &jerr);
		*updated = s == NATS_OK;
	}
	jsStreamInfo_Destroy(nsi);
	jsStreamInfo_Destroy(si);
	return s == NATS_OK ? ST_OK : replicas_err(b, s, jerr, replicas, what, e);
}

enum status
bus_stream_ensure(struct bus *b, const struct bus_stream_def *d, bool *created,
		  struct err *e)
{
	bool updated;

	return bus_stream_ensure_r(b, d, 0, created, &updated, e);	/* 0: as it is */
}

enum status
bus_stream_ensure_r(struct bus *b, const struct bus_stream_def *d, int replicas,
		    bool *created, bool *updated, struct err *e)
{
	struct bus_stream_stat stat;
	jsStreamConfig cfg;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	enum status st;
	int n = 0;
	char what[128];

	*created = *updated = false;
	st = bus_stream_stat(b, d->name, &stat, e);
	if (st == ST_OK)
		return stream_replicas(b, d->name, replicas, updated, e);
	if (st != ST_NO_SCHEMA)
		return st;
	while (n < 4 && d->subjects[n])
		n++;
	jsStreamConfig_Init(&cfg);
	cfg.Name = d->name;
	cfg.Description = d->description;
	cfg.Subjects = (const char **)d->subjects;
	cfg.SubjectsLen = n;
	cfg.Retention = d->work_queue ? js_WorkQueuePolicy : js_LimitsPolicy;
	cfg.Storage = js_FileStorage;
	cfg.MaxAge = d->max_age_s * 1000000000LL;
	cfg.MaxBytes = d->max_bytes;
	cfg.Duplicates = 120LL * 1000000000;	/* de-duplication window */
	cfg.Replicas = replicas;
	s = js_AddStream(&si, b->js, &cfg, NULL, &jerr);
	jsStreamInfo_Destroy(si);
	if (s != NATS_OK) {
		snprintf(what, sizeof what, "cannot create stream '%s'", d->name);
		return replicas_err(b, s, jerr, replicas, what, e);
	}
	*created = true;
	return ST_OK;
}

enum status
bus_kv_ensure(struct bus *b, const struct bus_kv_def *d, bool *created, struct err *e)
{
	bool updated;

	return bus_kv_ensure_r(b, d, 0, created, &updated, e);	/* 0: as it is */
}

enum status
bus_kv_ensure_r(struct bus *b, const struct bus_kv_def *d, int replicas, bool *created,
		bool *updated, struct err *e)
{
	kvStore *kv = NULL;
	kvConfig cfg;
	natsStatus s;
	enum status st;
	struct err ignore = ERR_INIT;
	char what[128], *stream;

	*created = *updated = false;
	st = bus_kv_handle(b, d->bucket, &kv, &ignore);
	if (st == ST_OK) {
		stream = xasprintf("KV_%s", d->bucket);
		st = stream_replicas(b, stream, replicas, updated, e);
		free(stream);
		return st;
	}
	if (st != ST_NO_SCHEMA) {
		if (e)
			*e = ignore;
		return st;
	}
	kvConfig_Init(&cfg);
	cfg.Bucket = d->bucket;
	cfg.Description = d->description;
	cfg.History = (uint8_t)d->history;
	cfg.StorageType = js_FileStorage;
	cfg.Replicas = replicas;
	s = js_CreateKeyValue(&kv, b->js, &cfg);
	snprintf(what, sizeof what, "cannot create bucket '%s'", d->bucket);
	if (s != NATS_OK)
		return replicas_err(b, s, 0, replicas, what, e);
	kvStore_Destroy(kv);
	*created = true;
	return ST_OK;
}

/* One peer of a stream's group, from what its leader reports. */
static void
peer_take(struct bus_peer *p, const jsPeerInfo *pi)
{
	snprintf(p->name, sizeof p->name, "%s", pi->Name ? pi->Name : "");
	p->current = pi->Current;
	p->offline = pi->Offline;
	p->active_ns = pi->Active;
	p->lag = pi->Lag;
}

enum status
bus_stream_cluster(struct bus *b, const char *stream, struct bus_stream_cluster *out,
		   struct err *e)
{
	jsStreamInfo *si = NULL;
	enum status st;
	int i;

	memset(out, 0, sizeof *out);
	if ((st = stream_info(b, stream, &si, e)) != ST_OK)
		return st;
	out->replicas = si->Config ? si->Config->Replicas : 1;
	out->msgs = si->State.Msgs;
	out->last_seq = si->State.LastSeq;
	if (si->Cluster) {
		snprintf(out->cluster, sizeof out->cluster, "%s",
			 si->Cluster->Name ? si->Cluster->Name : "");
		snprintf(out->leader, sizeof out->leader, "%s",
			 si->Cluster->Leader ? si->Cluster->Leader : "");
		for (i = 0; i < si->Cluster->ReplicasLen && out->npeers < BUS_PEERS_MAX; i++)
			if (si->Cluster->Replicas[i])
				peer_take(&out->peers[out->npeers++], si->Cluster->Replicas[i]);
	}
	jsStreamInfo_Destroy(si);
	return ST_OK;
}

/* Copy a fetched message out, or map the failure. */
static enum status
got_msg(struct bus *b, natsStatus s, jsErrCode jerr, natsMsg *m, struct buf *data,
	uint64_t *seq, const char *stream, const char *what, struct err *e)
{
	if (jerr == JSStreamNotFoundErr)
		return err_set(e, ST_NO_SCHEMA, "stream '%s' does not exist", stream);
	if (s == NATS_NOT_FOUND)
		return err_set(e, ST_NOT_FOUND, "%s: no such message", what);
	if (s != NATS_OK)
		return bus_map_err(b, s, jerr, what, e);
	buf_reset(data);
	buf_add(data, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
	if (seq)
		*seq = natsMsg_GetSequence(m);
	natsMsg_Destroy(m);
	return ST_OK;
}

enum status
bus_stream_get(struct bus *b, const char *stream, uint64_t seq, struct buf *data,
	       struct err *e)
{
	natsMsg *m = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	enum status st;
	char what[128];

	snprintf(what, sizeof what, "stream '%s' message %llu", stream, (unsigned long long)seq);
	if ((st = bus_ready(b, what, e)) != ST_OK)
		return st;
	s = js_GetMsg(&m, b->js, stream, seq, NULL, &jerr);
	return got_msg(b, s, jerr, m, data, NULL, stream, what, e);
}

enum status
bus_stream_last(struct bus *b, const char *stream, const char *subject, struct buf *data,
		uint64_t *seq, struct err *e)
{
	natsMsg *m = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	enum status st;
	char what[160];

	snprintf(what, sizeof what, "stream '%s' last '%s'", stream, subject);
	if ((st = bus_ready(b, what, e)) != ST_OK)
		return st;
	s = js_GetLastMsg(&m, b->js, stream, subject, NULL, &jerr);
	return got_msg(b, s, jerr, m, data, seq, stream, what, e);
}

enum status
bus_stream_next(struct bus *b, const char *stream, const char *subject, uint64_t from,
		uint64_t *seq, struct err *e)
{
	struct buf req = BUF_INIT, reply = BUF_INIT;
	struct json_doc doc = JSON_DOC_INIT;
	const struct json_value *msg, *err, *v;
	char what[160], *api;
	enum status st;

	*seq = 0;
	snprintf(what, sizeof what, "stream '%s' next '%s'", stream, subject);
	if ((st = bus_ready(b, what, e)) != ST_OK)
		return st;
	buf_addf(&req, "{\"seq\":%llu,\"next_by_subj\":", (unsigned long long)from);
	json_escape(&req, subject);
	buf_adds(&req, "}");
	api = xasprintf("$JS.API.STREAM.MSG.GET.%s", stream);
	st = bus_request(b, api, req.s, req.len, &reply, e);
	if (st == ST_OK)
		st = json_parse(reply.s, reply.len, what, &doc, e);
	if (st != ST_OK)
		goto out;
	msg = json_member(doc.root, "message");
	err = json_member(doc.root, "error");
	v = msg ? json_member(msg, "seq") : NULL;
	if (v && v->type == JSON_NUMBER && v->integer && v->num >= 1 && v->num <= JSON_INT_MAX) {
		*seq = (uint64_t)v->num;
	} else if (err && (v = json_member(err, "code")) != NULL && v->type == JSON_NUMBER &&
		   v->num == 404) {
		v = json_member(err, "err_code");
		st = v && v->type == JSON_NUMBER && v->num == JSStreamNotFoundErr ?
		     err_set(e, ST_NO_SCHEMA, "stream '%s' does not exist", stream) :
		     err_set(e, ST_NOT_FOUND, "%s: no message from %llu", what,
			     (unsigned long long)from);
	} else {
		v = err ? json_member(err, "description") : NULL;
		st = err_set(e, ST_PROTOCOL, "%s: %s", what,
			     v && v->type == JSON_STRING ? v->str : "an answer without a message");
	}
out:
	json_doc_release(&doc);
	buf_release(&reply);
	buf_release(&req);
	free(api);
	return st;
}

enum status
bus_stream_drop(struct bus *b, const char *stream, struct err *e)
{
	jsErrCode jerr = 0;
	natsStatus s;
	enum status st;

	if ((st = bus_ready(b, "delete stream", e)) != ST_OK)
		return st;
	s = js_DeleteStream(b->js, stream, NULL, &jerr);
	if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr)
		return ST_OK;
	return bus_map_err(b, s, jerr, "delete stream", e);
}

enum status
bus_kv_drop(struct bus *b, const char *bucket, struct err *e)
{
	size_t i;
	natsStatus s;
	enum status st;

	if ((st = bus_ready(b, "delete bucket", e)) != ST_OK)
		return st;
	pthread_mutex_lock(&b->mu);
	for (i = 0; i < b->nkvs; i++) {
		if (strcmp(b->kvs[i].bucket, bucket) == 0) {
			kvStore_Destroy(b->kvs[i].kv);
			free(b->kvs[i].bucket);
			b->kvs[i] = b->kvs[--b->nkvs];
			break;
		}
	}
	pthread_mutex_unlock(&b->mu);
	s = js_DeleteKeyValue(b->js, bucket);
	if (s == NATS_NOT_FOUND)
		return ST_OK;
	return bus_map_err(b, s, 0, "delete bucket", e);
}
