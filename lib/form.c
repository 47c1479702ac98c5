#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "form.h"
#include "hex.h"
#include "xalloc.h"
#include "banned.h"

int aur_form_is_type(const char *content_type)
{
	static const char form[] = "application/x-www-form-urlencoded";

	return content_type && !strncasecmp(content_type, form, sizeof(form) - 1);
}

/* Percent- and plus-decode s[a..z) into out; the decoded length. */
static size_t unescape(const char *s, size_t a, size_t z, char *out)
{
	size_t len = 0;

	for (size_t i = a; i < z; i++) {
		int hi = i + 2 < z ? aur_hex_value((unsigned char)s[i + 1]) : -1;
		int lo = i + 2 < z ? aur_hex_value((unsigned char)s[i + 2]) : -1;

		if (s[i] == '+') {
			out[len++] = ' ';
		} else if (s[i] == '%' && hi >= 0 && lo >= 0) {
			out[len++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[len++] = s[i];
		}
	}
	return len;
}

jv aur_form_decode(const char *s, size_t len)
{
	jv o = jv_object();
	char *tmp = aur_xmalloc(len + 1);
	size_t i = 0;

	while (i < len) {
		size_t amp = i, eq;

		while (amp < len && s[amp] != '&')
			amp++;
		eq = i;
		while (eq < amp && s[eq] != '=')
			eq++;
		if (amp > i) {
			size_t kl = unescape(s, i, eq, tmp);
			jv k = jv_string_sized(tmp, (int)kl);
			size_t vl = eq < amp ? unescape(s, eq + 1, amp, tmp) : 0;

			o = jv_object_set(o, k, jv_string_sized(tmp, (int)vl));
		}
		i = amp + 1;
	}
	free(tmp);
	return o;
}
