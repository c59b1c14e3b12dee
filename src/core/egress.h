/*
 * The egress proxy: a sandbox's only way out.
 *
 * It listens on a Unix socket that the sandbox gets bound in (its network
 * namespace has no route anywhere) and speaks HTTP proxying, one request
 * per connection:
 *
 *   CONNECT host:port HTTP/1.1            a tunnel, checked as https://host:port/
 *   GET http://host[:port]/path HTTP/1.1  plain HTTP, checked as that URL
 *
 * each with "Proxy-Authorization: Bearer TOKEN". Before anything is
 * forwarded the token and the endpoint go through cred_check() (witnessed
 * like every check): 407 without a token, 403 with the verdict and reason
 * (header X-Ifctl-Deny) when the credential does not allow the endpoint,
 * 502 when the endpoint cannot be reached. Allowed: a TCP connection to the
 * endpoint, the request forwarded with the proxy headers taken out and
 * "Connection: close", then bytes both ways until either side ends.
 *
 * With only_id set, a token of any other credential is refused (403): the
 * sandbox of a run may use the credential it was given and no other.
 *
 * Threads: one accepting thread and one per connection; egress_stop()
 * ends them all. The opctx (trace, witness) is read from those threads:
 * it must outlive the proxy and not change while it runs.
 */
#ifndef IF_EGRESS_H
#define IF_EGRESS_H

#include <stdint.h>

#include "core/bus.h"
#include "core/opctx.h"

#define EGRESS_HEAD_MAX ((size_t)16 << 10)	/* request line and headers */

struct egress_opts {
	const char *path;		/* the socket to create (mode 0666: the sandbox's uid) */
	struct bus *bus;		/* IF_CREDS */
	const struct opctx *op;		/* trace and witness of the checks */
	const char *only_id;		/* accept this credential only, or NULL */
	int64_t timeout_ms;		/* connect and idle limit (0: 30 s) */
};

struct egress_stats {
	uint64_t allowed, denied, failed;	/* requests */
	uint64_t bytes_out, bytes_in;		/* forwarded to and from endpoints */
};

struct egress;

/* Create the socket and start serving; ST_IO naming the path on failure. */
enum status egress_start(const struct egress_opts *o, struct egress **out, struct err *e);
/* Stop: close the socket (removing it), end every connection, wait; NULL is a no-op. */
void egress_stop(struct egress *g);
/* The counts so far. */
void egress_get_stats(struct egress *g, struct egress_stats *s);

#endif
