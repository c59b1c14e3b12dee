/* The secrets vault: see vault.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/home.h"
#include "core/json.h"
#include "core/task.h"
#include "core/util.h"
#include "core/vault.h"

#define KEY_HEX (crypto_secretbox_KEYBYTES * 2)

void
vault_item_release(struct vault_item *it)
{
	free(it->name);
	memset(it, 0, sizeof *it);
}

bool
vault_name_valid(const char *name)
{
	return name && task_id_valid(name);
}

/*
 * Read a private file: a regular file (no link followed) of ours, no
 * group or other bit, at most max bytes. The text is the caller's (wipe it).
 */
static enum status
read_private(const char *path, size_t max, char **out, size_t *len, struct err *e)
{
	struct stat sb;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	*out = NULL;
	if (fd < 0)
		return err_set(e, errno == ENOENT ? ST_NOT_FOUND : ST_PERMISSION, "cannot open '%s': %s",
			       path, errno == ELOOP ? "it is a symbolic link" : strerror(errno));
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || (size_t)sb.st_size > max) {
		close(fd);
		return err_set(e, ST_BAD_VALUE, "'%s' is not a regular file of at most %zu bytes", path, max);
	}
	if ((sb.st_mode & 077) || sb.st_uid != geteuid()) {
		close(fd);
		return err_set(e, ST_PERMISSION, "'%s' has mode %04o and owner %u: it must be 0600 and "
			       "yours (chmod 600 '%s'); refusing to use it", path,
			       (unsigned)(sb.st_mode & 07777), (unsigned)sb.st_uid, path);
	}
	*out = xmalloc((size_t)sb.st_size + 1);
	n = read(fd, *out, (size_t)sb.st_size);
	close(fd);
	if (n != sb.st_size) {
		free(*out);
		*out = NULL;
		return err_set(e, ST_IO, "cannot read '%s'", path);
	}
	(*out)[n] = '\0';
	*len = (size_t)n;
	return ST_OK;
}

/* Load the key (making it when create and there is none). */
static enum status
vault_key(const struct config *c, bool create, unsigned char key[crypto_secretbox_KEYBYTES],
	  struct err *e)
{
	char *path = home_path(c, HOME_VAULT_KEY), *dir = home_path(c, HOME_KEYS), *text = NULL;
	char hex[KEY_HEX + 2];
	size_t len = 0;
	enum status st = read_private(path, READ_MAX_KEY, &text, &len, e);

	if (st == ST_NOT_FOUND && create && (st = mkdir_p(dir, 0700, e)) == ST_OK) {
		crypto_secretbox_keygen(key);
		hex_encode(hex, key, crypto_secretbox_KEYBYTES);
		hex[KEY_HEX] = '\n';
		st = write_file_atomic(path, hex, KEY_HEX + 1, 0600, e);
		sodium_memzero(hex, sizeof hex);
	} else if (st == ST_NOT_FOUND) {
		err_set(e, ST_NOT_FOUND, "no vault key at '%s': the vault is empty", path);
	} else if (st == ST_OK && (len < KEY_HEX ||
				   sodium_hex2bin(key, crypto_secretbox_KEYBYTES, text, KEY_HEX, NULL,
						  NULL, NULL) != 0)) {
		st = err_set(e, ST_BAD_VALUE, "vault key '%s' is malformed (64 hex digits)", path);
	}
	if (text) {
		sodium_memzero(text, len);
		free(text);
	}
	free(path);
	free(dir);
	return st;
}

/* $IF_HOME/vault/NAME, after checking the name. */
static enum status
secret_path(const struct config *c, const char *name, char **path, struct err *e)
{
	char *dir;

	*path = NULL;
	if (!vault_name_valid(name)) {
		err_set(e, ST_BAD_VALUE, "invalid secret name '%s': use 1-128 letters, digits, "
			"'-', '_' or '.'", name ? name : "");
		return ST_BAD_VALUE;	/* stated here: the analyzer cannot see err_set's value */
	}
	dir = home_path(c, HOME_VAULT);
	*path = xasprintf("%s/%s", dir, name);
	free(dir);
	return ST_OK;
}

/* One secret file as read: metadata, nonce and box. */
struct secret_file {
	char *name, *nonce, *box;
	int64_t size, created, updated;
};

#define SF(name, type, field, max) \
	{ name, type, JF_REQUIRED, offsetof(struct secret_file, field), 0, max, NULL }
static const struct json_field secret_fields[] = {
	SF("name", JF_STR, name, 0),
	SF("nonce", JF_STR, nonce, 0),
	SF("box", JF_STR, box, 0),
	SF("size", JF_I64, size, (double)VAULT_VALUE_MAX),
	SF("created", JF_I64, created, JSON_INT_MAX),
	SF("updated", JF_I64, updated, JSON_INT_MAX),
};

static void
secret_file_release(struct secret_file *f)
{
	free(f->name);
	free(f->nonce);
	free(f->box);
	memset(f, 0, sizeof *f);
}

/* Read and parse a secret file (not opened yet). */
static enum status
secret_read(const char *path, const char *name, struct secret_file *f, struct err *e)
{
	struct json_doc doc = JSON_DOC_INIT;
	const struct json_value *v;
	char *text = NULL;
	size_t len = 0;
	enum status st;

	memset(f, 0, sizeof *f);
	if ((st = read_private(path, VAULT_VALUE_MAX * 3, &text, &len, e)) != ST_OK)
		return st == ST_NOT_FOUND ? err_set(e, st, "no secret '%s' in the vault", name) : st;
	st = json_parse(text, len, "vault secret", &doc, e);
	if (st == ST_OK && (doc.root->type != JSON_OBJECT || (v = json_member(doc.root, "v")) == NULL ||
			    v->type != JSON_NUMBER || v->num != 1))
		st = err_set(e, ST_BAD_JSON, "vault secret: not an object with \"v\": 1");
	if (st == ST_OK)
		st = json_read_fields(doc.root, secret_fields, ARRAY_SIZE(secret_fields), 0, f,
				      "vault secret", e);
	if (st == ST_OK && strcmp(f->name, name) != 0)
		st = err_set(e, ST_INVALID_RECORD, "vault file '%s' holds secret '%s'", path, f->name);
	else if (st != ST_OK)
		st = err_set(e, ST_INVALID_RECORD, "vault file '%s' is malformed", path);
	json_doc_release(&doc);
	free(text);
	if (st != ST_OK)
		secret_file_release(f);
	return st;
}

enum status
vault_put(const struct config *c, const char *name, const void *value, size_t len,
	  bool *replaced, struct err *e)
{
	unsigned char key[crypto_secretbox_KEYBYTES], nonce[crypto_secretbox_NONCEBYTES];
	unsigned char *plain = NULL, *box = NULL;
	char nonce_hex[sizeof nonce * 2 + 1], *path = NULL, *dir = NULL, *b64 = NULL;
	struct secret_file old;
	struct buf json = BUF_INIT;
	size_t plen = 0, b64len;
	int64_t now = wall_ms(), created = now;
	enum status st;

	*replaced = false;
	if ((st = secret_path(c, name, &path, e)) != ST_OK)
		return st;
	if (len > VAULT_VALUE_MAX) {
		st = err_set(e, ST_BAD_VALUE, "secret '%s' is %zu bytes; at most %zu", name, len,
			     VAULT_VALUE_MAX);
		goto out;
	}
	st = secret_read(path, name, &old, e);
	if (st != ST_OK && st != ST_NOT_FOUND)
		goto out;
	if (st == ST_OK) {
		*replaced = true;
		created = old.created;
		secret_file_release(&old);
	}
	dir = home_path(c, HOME_VAULT);
	if ((st = vault_key(c, true, key, e)) != ST_OK || (st = mkdir_p(dir, 0700, e)) != ST_OK)
		goto out;
	plen = strlen(name) + 1 + len;
	plain = xmalloc(plen);
	memcpy(plain, name, strlen(name) + 1);
	memcpy(plain + strlen(name) + 1, value, len);
	box = xmalloc(plen + crypto_secretbox_MACBYTES);
	randombytes_buf(nonce, sizeof nonce);
	crypto_secretbox_easy(box, plain, plen, nonce, key);
	b64len = sodium_base64_ENCODED_LEN(plen + crypto_secretbox_MACBYTES, sodium_base64_VARIANT_ORIGINAL);
	b64 = xmalloc(b64len);
	sodium_bin2base64(b64, b64len, box, plen + crypto_secretbox_MACBYTES, sodium_base64_VARIANT_ORIGINAL);
	hex_encode(nonce_hex, nonce, sizeof nonce);
	buf_addc(&json, '{');
	json_kv_str(&json, "box", b64);
	json_kv_int(&json, "created", created);
	json_kv_str(&json, "name", name);
	json_kv_str(&json, "nonce", nonce_hex);
	json_kv_int(&json, "size", (long long)len);
	json_kv_int(&json, "updated", now);
	json_kv_int(&json, "v", 1);
	buf_adds(&json, "}\n");
	st = write_file_atomic(path, json.s, json.len, 0600, e);
out:
	sodium_memzero(key, sizeof key);
	if (plain)
		sodium_memzero(plain, plen);
	free(plain);
	free(box);
	free(b64);
	free(path);
	free(dir);
	buf_release(&json);
	return st;
}

enum status
vault_get(const struct config *c, const char *name, char **value, size_t *len,
	  struct vault_item *meta, struct err *e)
{
	unsigned char key[crypto_secretbox_KEYBYTES], nonce[crypto_secretbox_NONCEBYTES];
	unsigned char *box = NULL, *plain = NULL;
	struct secret_file f;
	char *path;
	size_t boxlen = 0, nlen = strlen(name ? name : "") + 1;
	enum status st;

	*value = NULL;
	*len = 0;
	if ((st = secret_path(c, name, &path, e)) != ST_OK)
		return st;
	if ((st = secret_read(path, name, &f, e)) != ST_OK)
		goto out;
	if ((st = vault_key(c, false, key, e)) != ST_OK)
		goto out_f;
	box = xmalloc(strlen(f.box) + 1);
	if (sodium_hex2bin(nonce, sizeof nonce, f.nonce, strlen(f.nonce), NULL, NULL, NULL) != 0 ||
	    strlen(f.nonce) != sizeof nonce * 2 ||
	    sodium_base642bin(box, strlen(f.box) + 1, f.box, strlen(f.box), NULL, &boxlen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    boxlen < crypto_secretbox_MACBYTES + nlen) {
		st = err_set(e, ST_INVALID_RECORD, "vault secret '%s' is malformed", name);
		goto out_k;
	}
	plain = xmalloc(boxlen);
	if (crypto_secretbox_open_easy(plain, box, boxlen, nonce, key) != 0 ||
	    memcmp(plain, name, nlen) != 0 ||
	    boxlen - crypto_secretbox_MACBYTES - nlen != (size_t)f.size) {
		st = err_set(e, ST_INVALID_RECORD, "vault secret '%s' does not open with this host's "
			     "key (another key, or the file was changed or moved)", name);
		goto out_k;
	}
	*len = (size_t)f.size;
	*value = xmalloc(*len + 1);
	memcpy(*value, plain + nlen, *len);
	(*value)[*len] = '\0';
	if (meta)
		*meta = (struct vault_item){ xstrdup(name), *len, f.created, f.updated };
out_k:
	sodium_memzero(key, sizeof key);
	if (plain)
		sodium_memzero(plain, boxlen);
	free(plain);
	free(box);
out_f:
	secret_file_release(&f);
out:
	free(path);
	return st;
}

/* Compare items by name (qsort). */
static int
item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vault_item *)a)->name, ((const struct vault_item *)b)->name);
}

enum status
vault_list(const struct config *c, struct vault_item **out, size_t *n, struct err *e)
{
	char *dirpath = home_path(c, HOME_VAULT), *path;
	struct secret_file f;
	struct dirent *d;
	size_t cap = 0;
	DIR *dir;
	enum status st = ST_OK;

	*out = NULL;
	*n = 0;
	if ((dir = opendir(dirpath)) == NULL) {
		free(dirpath);
		return errno == ENOENT ? ST_OK : err_set(e, ST_PERMISSION, "cannot read the vault: %s",
							 strerror(errno));
	}
	while (st == ST_OK && (d = readdir(dir)) != NULL) {
		if (!vault_name_valid(d->d_name) || strstr(d->d_name, ".tmp."))
			continue;
		path = xasprintf("%s/%s", dirpath, d->d_name);
		st = secret_read(path, d->d_name, &f, e);
		free(path);
		if (st != ST_OK)
			break;
		xgrow(out, &cap, *n + 1, sizeof **out);
		(*out)[(*n)++] = (struct vault_item){ xstrdup(f.name), (size_t)f.size, f.created,
						      f.updated };
		secret_file_release(&f);
	}
	closedir(dir);
	free(dirpath);
	if (*n)
		qsort(*out, *n, sizeof **out, item_cmp);
	return st;
}

enum status
vault_rm(const struct config *c, const char *name, struct err *e)
{
	char *path;
	enum status st;

	if ((st = secret_path(c, name, &path, e)) != ST_OK)
		return st;
	if (unlink(path) != 0)
		st = err_set(e, errno == ENOENT ? ST_NOT_FOUND : ST_PERMISSION, "cannot remove secret "
			     "'%s': %s", name, errno == ENOENT ? "there is none" : strerror(errno));
	free(path);
	return st;
}

/* --- view --------------------------------------------------------------- */

enum vault_col { VC_NAME, VC_SIZE, VC_CREATED, VC_UPDATED, VC__COUNT };
static const struct view_col vault_cols[] = {
	[VC_NAME] = { "name", COL_TEXT, 0 },
	[VC_SIZE] = { "size", COL_NUM, 0 },
	[VC_CREATED] = { "created", COL_TIME, 0 },
	[VC_UPDATED] = { "updated", COL_TIME, 0 },
};
_Static_assert(ARRAY_SIZE(vault_cols) == VC__COUNT, "one column per vault_col");
static const struct view vault_view = VIEW("secrets", vault_cols);

struct rowset *
vault_view_list(void)
{
	return rows_view(&vault_view);
}

void
vault_view_add(struct rowset *rs, const struct vault_item *it)
{
	size_t r = rows_add(rs);

	rows_set(rs, r, VC_NAME, it->name);
	rows_set_u64(rs, r, VC_SIZE, it->size);
	rows_set_time(rs, r, VC_CREATED, it->created);
	rows_set_time(rs, r, VC_UPDATED, it->updated);
}
