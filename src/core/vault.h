/*
 * The secrets vault: named secrets encrypted at rest on this host.
 *
 * Each secret is one file $IF_HOME/vault/NAME (0600, the directory 0700):
 * JSON with "v": 1, the name, a random 24-byte nonce and the libsodium
 * secretbox (XSalsa20-Poly1305) of NAME, a NUL and the value, under the
 * 32-byte key in $IF_HOME/keys/vault.key (0600). The name inside the box
 * ties the ciphertext to its file: a box copied under another name does
 * not open. A key file (or secret) with any group or other permission bit,
 * or owned by another user, is refused (ST_PERMISSION), never read.
 *
 * Values never leave this module but through vault_get(); nothing here
 * logs, witnesses or prints. Plaintext buffers are wiped before they are
 * freed. At most VAULT_VALUE_MAX bytes per secret.
 *
 * Threads: one caller at a time per home.
 */
#ifndef IF_VAULT_H
#define IF_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/rows.h"
#include "core/status.h"

#define VAULT_VALUE_MAX ((size_t)64 << 10)

/* What list shows of a secret: never its value. */
struct vault_item {
	char *name;
	size_t size;		/* bytes of the value */
	int64_t created, updated;	/* ms since the epoch */
};
void vault_item_release(struct vault_item *it);

/* Is name usable (the syntax of a task id: a file name, a table cell)? */
bool vault_name_valid(const char *name);

/*
 * Store value under name (replacing one there: *replaced). The key is made
 * on first use (create true), else ST_NOT_FOUND.
 */
enum status vault_put(const struct config *c, const char *name, const void *value, size_t len,
		      bool *replaced, struct err *e);

/*
 * The value of name into *value (the caller wipes it with sodium_memzero
 * and frees it) and its metadata (may be NULL). ST_NOT_FOUND; ST_PERMISSION
 * for loose modes; ST_INVALID_RECORD when the box does not open (another
 * key, a file moved, tampered).
 */
enum status vault_get(const struct config *c, const char *name, char **value, size_t *len,
		      struct vault_item *meta, struct err *e);

/* Every secret's metadata, by name; free each with vault_item_release, then the array. */
enum status vault_list(const struct config *c, struct vault_item **out, size_t *n,
		       struct err *e);

/* Remove a secret (ST_NOT_FOUND when there is none). */
enum status vault_rm(const struct config *c, const char *name, struct err *e);

/* The view of vault list rows: name, size, created, updated. */
struct rowset *vault_view_list(void);
void vault_view_add(struct rowset *rs, const struct vault_item *it);

#endif
