#include "common/clock.h"
#include "common/error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t vd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t vd_now_ms(void)
{
	return vd_now_ns() / 1000000u;
}

vd_deadline vd_deadline_in(uint64_t ms)
{
	vd_deadline d = { vd_now_ms() + ms };

	return d;
}

bool vd_deadline_expired(vd_deadline d)
{
	return d.at_ms && vd_now_ms() >= d.at_ms;
}

uint64_t vd_deadline_left_ms(vd_deadline d)
{
	uint64_t now;

	if (!d.at_ms)
		return UINT64_MAX;
	now = vd_now_ms();
	return now >= d.at_ms ? 0 : d.at_ms - now;
}

int vd_duration_parse(const char *s, uint64_t *out)
{
	static const struct { const char *unit; double ms; } units[] = {
		{ "ms", 1 }, { "us", 0.001 }, { "ns", 0.000001 },
		{ "h", 3600000 }, { "m", 60000 }, { "s", 1000 },
	};
	double total = 0;
	const char *p = s;

	if (!s || !*s)
		return VD_EINVAL;
	while (*p) {
		char *end;
		double v;
		size_t i, ulen = 0;
		double mult = -1;

		if (!isdigit((unsigned char)*p) && *p != '.')
			return VD_EINVAL;
		v = strtod(p, &end);
		if (end == p || v < 0)
			return VD_EINVAL;
		p = end;
		if (!*p && p == end && total == 0 && strspn(s, "0123456789.") == strlen(s)) {
			total = v * 1000;  /* a bare number counts as seconds */
			break;
		}
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			ulen = strlen(units[i].unit);
			if (!strncmp(p, units[i].unit, ulen)) {
				mult = units[i].ms;
				break;
			}
		}
		if (mult < 0)
			return VD_EINVAL;
		total += v * mult;
		p += ulen;
	}
	if (total > 1e15)
		return VD_EINVAL;
	*out = (uint64_t)(total + 0.5);
	return 0;
}

int vd_time_parse(const char *s, int64_t *out)
{
	struct tm tm;
	const char *rest;

	if (!s)
		return VD_EINVAL;
	memset(&tm, 0, sizeof(tm));
	rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return VD_EINVAL;
	if (tm.tm_year + 1900 <= 1) {
		*out = 0;
		return VD_ENOTFOUND;
	}
	if (*rest == '.')
		rest += 1 + strspn(rest + 1, "0123456789");
	if (*rest != 'Z' && *rest != '+' && *rest != '-')
		return VD_EINVAL;
	*out = (int64_t)timegm(&tm);
	if (*rest == '+' || *rest == '-') {
		int hh = 0, mm = 0;

		if (sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2)
			return VD_EINVAL;
		*out += (*rest == '+' ? -1 : 1) * (int64_t)(hh * 3600 + mm * 60);
	}
	return 0;
}

void vd_duration_format(int64_t s, char out[32])
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(out, 32, "%lldd%lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(out, 32, "%lldh%lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(out, 32, "%lldm%llds", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(out, 32, "%llds", (long long)s);
}
