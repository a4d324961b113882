/* voxdeploy — monotonic time and deadlines.
 *
 * Everything that waits takes a deadline; nothing waits on wall-clock time,
 * which can jump.
 */
#ifndef VD_COMMON_CLOCK_H
#define VD_COMMON_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Milliseconds, and nanoseconds, on the monotonic clock. */
uint64_t vd_now_ms(void);
uint64_t vd_now_ns(void);

typedef struct vd_deadline {
	uint64_t at_ms;   /* monotonic; 0 = never */
} vd_deadline;

vd_deadline vd_deadline_in(uint64_t ms);
bool vd_deadline_expired(vd_deadline d);
/* Milliseconds left (0 when expired, UINT64_MAX when never). */
uint64_t vd_deadline_left_ms(vd_deadline d);

/* Parse a compose-style duration ("1m30s", "500ms", "10s", "1h", "2.5s", a
 * bare number of seconds) into milliseconds.  0 or VD_EINVAL. */
int vd_duration_parse(const char *s, uint64_t *out);

/* Parse an RFC 3339 UTC time as the engine writes it
 * ("2026-11-26T23:59:01.123456789Z") into unix seconds.  0 or VD_EINVAL;
 * the engine's zero time ("0001-01-01T00:00:00Z") gives 0 seconds and
 * VD_ENOTFOUND. */
int vd_time_parse(const char *s, int64_t *out);

/* "3d4h", "2h13m", "5m2s", "12s" for a number of seconds. */
void vd_duration_format(int64_t seconds, char out[32]);

#endif
