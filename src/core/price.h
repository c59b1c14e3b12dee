/*
 * Money and the price table.
 *
 * Money is an integer count of micro-USD (millionths of a dollar) in an
 * int64_t, everywhere: records, budgets, reports. No floating point ever
 * touches an amount. Text such as "12.50" is read exactly (money_parse),
 * sums and products are overflow-checked (money_add, money_mul), and an
 * amount is written back as a plain decimal (money_format).
 *
 * The price table is YAML, one entry per provider and model:
 *
 *	v: 1
 *	models:
 *	  openai/gpt-4o:
 *	    tier: frontier              # models of one tier can stand in for each other
 *	    capabilities: chat,vision,tools
 *	    input: "2.50"               # USD per million input tokens
 *	    output: "10.00"             # USD per million output tokens
 *	    cached: "1.25"              # USD per million cached input tokens (default: input)
 *	    hourly: "0"                 # USD per hour of run time (self-hosted models)
 *
 * The shipped defaults (price_defaults_yaml) are built in; the file named
 * by the configuration key cost.prices replaces the defaults' entry of
 * every model it names and adds the others. A table that does not parse,
 * names an unknown field, or gives a price that is not a non-negative
 * decimal with at most six places is refused as a whole, naming the line.
 *
 * Threads: a loaded table is read-only and may be shared.
 */
#ifndef IF_PRICE_H
#define IF_PRICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/rows.h"
#include "core/status.h"

#define MONEY_MAX	9007199254740991LL	/* 2^53 - 1 micro-USD: exact in any JSON reader */
#define MICROS_PER_USD	1000000LL
#define TOKENS_PER_PRICE 1000000LL		/* prices are per million tokens */

/*
 * Read a non-negative decimal amount of USD ("12.50", "0.000125", "3") as
 * micro-USD. ST_BAD_VALUE (naming what) for a sign, an exponent, more than
 * six decimal places, junk, or more than MONEY_MAX.
 */
enum status money_parse(const char *s, const char *what, int64_t *out, struct err *e);
/* Append micros as USD with at least two decimals ("12.50", "0.000125", "-3.00"). */
void money_format(struct buf *out, int64_t micros);
/* The same into out (MONEY_TEXT bytes, always enough); returns out. */
#define MONEY_TEXT 32
const char *money_str(int64_t micros, char out[MONEY_TEXT]);
/* *out = a + b, false on overflow past MONEY_MAX (or below -MONEY_MAX). */
bool money_add(int64_t a, int64_t b, int64_t *out);
/*
 * *out = round(quantity * rate / per), half up, for non-negative
 * arguments; false on overflow. The cost of tokens at a price per million.
 */
bool money_mul(int64_t quantity, int64_t rate, int64_t per, int64_t *out);

struct price {
	char *id;		/* "provider/model" */
	char *provider;		/* before the first '/' */
	char *model;		/* after it */
	char *tier;		/* "frontier", "small" ...: who can stand in for whom */
	char **caps;		/* sorted capabilities */
	size_t ncaps;
	int64_t input;		/* micro-USD per million input tokens */
	int64_t output;		/* ... output tokens */
	int64_t cached;		/* ... cached input tokens */
	int64_t hourly;		/* micro-USD per hour of run time */
	int line;		/* in its file; 0 for the built-in defaults */
	bool from_file;		/* set by the override file */
};

struct price_table {
	struct price *v;
	size_t n, cap;
	char *source;		/* "built-in", or "built-in + FILE" */
};
#define PRICE_TABLE_INIT { NULL, 0, 0, NULL }

void price_table_release(struct price_table *t);

/* The shipped defaults as YAML (static storage). */
extern const char price_defaults_yaml[];

/*
 * Merge the table in text (YAML, named what) into t: an entry replaces the
 * one with the same id. On error t is unchanged.
 */
enum status price_table_merge(struct price_table *t, const char *text, size_t len,
			      const char *what, bool from_file, struct err *e);

/*
 * The table in force: the defaults, then the file path (NULL: the key
 * cost.prices of c; empty: none).
 */
enum status price_table_load(struct price_table *t, const struct config *c, const char *path,
			     struct err *e);

/* The entry of provider and model, or NULL. */
const struct price *price_find(const struct price_table *t, const char *provider,
			       const char *model);

/* Does p have every capability of q? */
bool price_covers(const struct price *p, const struct price *q);
/* qsort order of an array of strings. */
int strv_cmp(const void *a, const void *b);
/* Does the sorted list a[0..na) hold every name of the sorted list b[0..nb)? */
bool caps_cover(char *const *a, size_t na, char *const *b, size_t nb);

/*
 * Usage priced: tokens (uncached input, output, cached input) and run time
 * at p's prices. ST_BAD_VALUE when the sum overflows.
 */
struct price_usage {
	int64_t tokens_in, tokens_out, tokens_cached, duration_ms;
};
enum status price_cost(const struct price *p, const struct price_usage *u, int64_t *micros,
		       struct err *e);

/* Columns of the prices view. */
enum price_col {
	PRC_MODEL, PRC_PROVIDER, PRC_TIER, PRC_INPUT, PRC_OUTPUT, PRC_CACHED, PRC_HOURLY,
	PRC_CAPABILITIES, PRC_SOURCE, PRC__COUNT
};
/* The table as a view ("prices"), one row per model. */
struct rowset *price_view(const struct price_table *t);

/* Set a number cell to micros as exact decimal USD ("12.50"). */
void money_cell(struct rowset *rs, size_t row, size_t col, int64_t micros);

#endif
