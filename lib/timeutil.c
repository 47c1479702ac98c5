#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timeutil.h"
#include "banned.h"

long long aur_time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long aur_time_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *aur_time_format_ms(long long ms, char *out, size_t outlen)
{
	time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	int frac = (int)(ms - (long long)secs * 1000);
	struct tm tm;

	if (!gmtime_r(&secs, &tm)) {
		snprintf(out, outlen, "1970-01-01T00:00:00.000Z");
		return out;
	}
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	return out;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static long long days_from_civil(long long y, int m, int d)
{
	long long era;
	unsigned yoe;
	unsigned doy;
	unsigned doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int aur_time_parse_ms(const char *s, long long *ms)
{
	int y, mo, d, h = 0, mi = 0, sec = 0;
	long long frac_ms = 0;
	long long offset_min = 0;
	const char *p = s;
	size_t len;

	if (!s)
		return -EINVAL;
	len = strlen(s);
	if (len && strspn(s, "0123456789") == len) {
		char *end = NULL;
		long long v;

		if (len > 16)
			return -EINVAL;
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno)
			return -EINVAL;
		*ms = len > 11 ? v : v * 1000;
		return 0;
	}
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return -EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return -EINVAL;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec))
				return -EINVAL;
		}
		if (*p == '.' || *p == ',') {
			long long scale = 100;

			p++;
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			while (isdigit((unsigned char)*p)) {
				frac_ms += (*p - '0') * scale;
				scale /= 10;
				p++;
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p == '-' ? -1 : 1;
			int oh, om = 0;

			p++;
			if (digits(&p, 2, &oh))
				return -EINVAL;
			if (*p == ':')
				p++;
			if (*p && digits(&p, 2, &om))
				return -EINVAL;
			offset_min = (long long)sign * (oh * 60 + om);
		}
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	*ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600LL + mi * 60LL + sec) - offset_min * 60) * 1000 +
	      frac_ms;
	return 0;
}

void aur_time_span_text(long long ms, char *out, size_t outlen)
{
	long long s = ms / 1000;

	if (s < 60)
		snprintf(out, outlen, "%llds", s);
	else if (s < 3600)
		snprintf(out, outlen, "%lldm", s / 60);
	else
		snprintf(out, outlen, "%lldh%02lldm", s / 3600, s / 60 % 60);
}
