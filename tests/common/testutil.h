/* voxdeploy tests: helpers the unit and the integration tests share.
 *
 * Files and temporary directories.  Each helper fails the running cmocka
 * test when what it must do cannot be done, unless it says otherwise.
 */
#ifndef VD_TESTS_TESTUTIL_H
#define VD_TESTS_TESTUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* A new directory /tmp/vd-NAME-XXXXXX; its path (caller frees). */
char *tu_mkdtemp(const char *name);
/* Remove path and everything below it, following no link: 0, also when
 * there was nothing; -1 when something could not be removed. */
int tu_rm_rf(const char *path);
/* The directory DIR/NAME with exactly mode (the umask aside). */
void tu_mkdir(const char *dir, const char *name, mode_t mode);

/* Write DIR/NAME anew: len bytes of data, a string, or printf's output. */
void tu_write(const char *dir, const char *name, const void *data, size_t len);
void tu_write_str(const char *dir, const char *name, const char *text);
void tu_write_fmt(const char *dir, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The whole of a file, NUL-terminated (caller frees); NULL when it cannot
 * be read. */
char *tu_read_file(const char *path);
/* The same, but "" when it cannot be read: what a process has written so
 * far, where it may not have written yet. */
char *tu_slurp(const char *path);

#endif
