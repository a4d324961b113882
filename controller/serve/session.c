#include "controller/serve/session.h"
#include "common/clock.h"
#include "common/error.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

void vd_sessions_init(vd_sessions *s, uint64_t ttl_ms)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->ttl_ms = ttl_ms ? ttl_ms : VD_SESSION_TTL_MS;
}

void vd_sessions_release(vd_sessions *s)
{
	pthread_mutex_destroy(&s->lock);
	memset(s->slot, 0, sizeof(s->slot));
}

/* Equal in a time that tells nothing of where they differ. */
static bool same(const char *a, const char *b)
{
	unsigned char diff = 0;
	size_t i;

	for (i = 0; i < VD_SESSION_ID_LEN; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

static bool shaped(const char *id)
{
	size_t i;

	for (i = 0; i < VD_SESSION_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return id[i] == '\0';
}

int vd_session_new(vd_sessions *s, char out[VD_SESSION_ID_LEN + 1])
{
	unsigned char rnd[VD_SESSION_ID_LEN / 2];
	uint64_t now = vd_now_ms();
	size_t i, pick = 0;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return VD_EIO;
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(out + 2 * i, 3, "%02x", rnd[i]);
	pthread_mutex_lock(&s->lock);
	/* a free or expired slot, else the one that expires first */
	for (i = 0; i < VD_SESSION_MAX; i++) {
		if (s->slot[i].expires <= now) {
			pick = i;
			break;
		}
		if (s->slot[i].expires < s->slot[pick].expires)
			pick = i;
	}
	memcpy(s->slot[pick].id, out, VD_SESSION_ID_LEN + 1);
	s->slot[pick].expires = now + s->ttl_ms;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

bool vd_session_valid(vd_sessions *s, const char *id)
{
	uint64_t now = vd_now_ms();
	bool ok = false;
	size_t i;

	if (!id || !shaped(id))
		return false;
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < VD_SESSION_MAX; i++)
		ok |= s->slot[i].expires > now && same(s->slot[i].id, id);
	pthread_mutex_unlock(&s->lock);
	return ok;
}

void vd_session_drop(vd_sessions *s, const char *id)
{
	size_t i;

	if (!id || !shaped(id))
		return;
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < VD_SESSION_MAX; i++)
		if (s->slot[i].expires && same(s->slot[i].id, id))
			memset(&s->slot[i], 0, sizeof(s->slot[i]));
	pthread_mutex_unlock(&s->lock);
}

bool vd_cookie_get(const char *header, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name), vl;
	const char *p = header;

	while (p && *p) {
		p += strspn(p, " \t;");
		if (!strncmp(p, name, nl) && p[nl] == '=') {
			p += nl + 1;
			vl = strcspn(p, ";");
			while (vl && (p[vl - 1] == ' ' || p[vl - 1] == '\t'))
				vl--;
			if (vl >= size)
				return false;
			memcpy(out, p, vl);
			out[vl] = '\0';
			return true;
		}
		p = strchr(p, ';');
	}
	return false;
}
