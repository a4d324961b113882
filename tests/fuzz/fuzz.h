/* voxdeploy — helpers shared by the libFuzzer targets (tests/fuzz/run). */
#ifndef VD_TESTS_FUZZ_H
#define VD_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the input (the parsers that take C strings). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

/* Split the input at its first NUL: *a (size *alen) before, *b after. */
static inline void fuzz_split(const uint8_t *data, size_t size, const uint8_t **b, size_t *blen,
			      size_t *alen)
{
	const uint8_t *z = memchr(data, 0, size);

	*alen = z ? (size_t)(z - data) : size;
	*b = z ? z + 1 : data + size;
	*blen = z ? size - *alen - 1 : 0;
}

/* Chunk sizes for a stream decoder, taken from a seed byte: the engine's
 * bytes arrive in pieces that do not line up with lines or frames. */
static inline size_t fuzz_chunk(unsigned seed, size_t left)
{
	size_t n = (size_t)(seed % 17) + 1;

	if (seed & 0x80)
		n = left;
	return n < left ? n : left;
}

/* An environment for interpolation: a few set, one empty, the rest unset. */
static inline const char *fuzz_lookup(const char *name, void *ctx)
{
	(void)ctx;
	if (!strcmp(name, "HOME"))
		return "/home/u";
	if (!strcmp(name, "TAG"))
		return "1.0";
	if (!strcmp(name, "EMPTY"))
		return "";
	if (!strcmp(name, "PORT"))
		return "8080";
	if (!strcmp(name, "DB_PASSWORD"))
		return "s3cret";
	return NULL;
}

#endif
