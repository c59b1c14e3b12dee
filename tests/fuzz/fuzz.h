/*
 * What every fuzz target shares: the libFuzzer entry point's prototype and
 * small helpers. Each tests/fuzz/fuzz-<name>.c defines
 * LLVMFuzzerTestOneInput(); it is linked either with libFuzzer (make fuzz,
 * clang) or with driver.c, which feeds it files (the regression inputs
 * that make check replays with the normal compiler).
 *
 * A target returns 0 for any input the code under test handles, well or by
 * refusing it; a broken invariant (a canonical form that does not read
 * back, a record that does not round-trip) is fuzz_fail(), which prints
 * what broke and aborts so that libFuzzer keeps the input.
 */
#ifndef IF_FUZZ_H
#define IF_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a NUL-terminated string (text ends at an embedded NUL); caller frees. */
char *fuzz_text(const uint8_t *data, size_t size);

/* Write the input to this process's temporary file named by suffix; returns its path. */
const char *fuzz_file(const char *suffix, const uint8_t *data, size_t size);

/* Is s well-formed UTF-8 (no surrogates, no overlong forms), as I-JSON requires? */
int fuzz_utf8_ok(const char *s, size_t len);

/* The witness fixtures' signing key (tests/helper/mkledger.c: a seed of zeros). */
struct wkey;
const struct wkey *fuzz_fixture_key(void);

/* Report a broken invariant on stderr and abort. */
_Noreturn void fuzz_fail(const char *what, const char *detail);

/* fuzz_fail() unless cond holds. */
#define FUZZ_CHECK(cond, detail) \
	do { if (!(cond)) fuzz_fail(#cond, (detail)); } while (0)

#endif
