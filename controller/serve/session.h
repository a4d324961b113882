/* voxdeploy — the status page's login sessions: what POST /login gives a
 * browser that sent the right token (a cookie), so that the token itself is
 * sent once and never kept in a URL or a page.
 *
 * Sessions live in memory only (a restart logs everyone out), are bounded
 * in number (the oldest goes when a new one needs room) and expire.  A
 * session id is 256 random bits in hex; it is compared in constant time.
 */
#ifndef VD_CONTROLLER_SERVE_SESSION_H
#define VD_CONTROLLER_SERVE_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VD_SESSION_ID_LEN 64
#define VD_SESSION_MAX 64
#define VD_SESSION_TTL_MS ((uint64_t)12 * 3600 * 1000)

typedef struct vd_sessions {
	pthread_mutex_t lock;
	struct {
		char id[VD_SESSION_ID_LEN + 1];
		uint64_t expires;   /* monotonic ms; 0: a free slot */
	} slot[VD_SESSION_MAX];
	uint64_t ttl_ms;
} vd_sessions;

/* ttl_ms 0: VD_SESSION_TTL_MS. */
void vd_sessions_init(vd_sessions *s, uint64_t ttl_ms);
void vd_sessions_release(vd_sessions *s);

/* A new session; its id into out.  VD_EIO when no randomness is to be had. */
int vd_session_new(vd_sessions *s, char out[VD_SESSION_ID_LEN + 1]);
/* True when id names a live session. */
bool vd_session_valid(vd_sessions *s, const char *id);
/* End the session id names (nothing when none does). */
void vd_session_drop(vd_sessions *s, const char *id);
/* The value of cookie `name` in a Cookie header ("a=1; vd_session=ab"),
 * copied into out (at most size - 1 bytes); false when absent or longer. */
bool vd_cookie_get(const char *header, const char *name, char *out, size_t size);

#endif
