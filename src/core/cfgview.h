/*
 * The configuration as a view ("config"): one row per key of the config
 * table, with its value typed (integers as numbers, booleans as booleans),
 * where it came from, its type, environment variable, bounds and help.
 * Secrets (passwords, tokens) are shown as "********" when set.
 */
#ifndef IF_CFGVIEW_H
#define IF_CFGVIEW_H

#include <stdbool.h>

#include "core/config.h"
#include "core/rows.h"

enum cfgview_col { CV_KEY, CV_VALUE, CV_SOURCE, CV_TYPE, CV_ENV, CV_BOUNDS, CV_HELP, CV__COUNT };

/* Is a key's value a secret, never shown? */
bool config_is_secret(const struct cfg_key *k);

/* Every key of c, or (defaults) every key's default. */
struct rowset *config_view(const struct config *c, bool defaults);

#endif
