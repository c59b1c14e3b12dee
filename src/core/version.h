/* Versions of ifctl and the libraries it runs with. */
#ifndef IF_VERSION_H
#define IF_VERSION_H

#include "core/rows.h"

/* A single-record row set: ifctl, nats.c, cJSON, libyaml, SQLite, libsodium. */
struct rowset *versions_rows(void);

#endif
