/*
 * unit.c - unit tests for lib/ modules whose behaviour is clearer tested
 * directly than through a command: time parsing, HMAC and token checks,
 * bounded buffers, form decoding. Run by tests/unit.bats; prints one line
 * per failed check and "N passed, N failed" at the end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>

#include "auth.h"
#include "buf.h"
#include "inbox.h"
#include "timeutil.h"
#include "banned.h"

static int passed;
static int failed;

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (cond) {                                                      \
			passed++;                                                \
		} else {                                                         \
			failed++;                                                \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                \
	} while (0)

static void test_time(void)
{
	char out[32];
	long long ms = 0;

	CHECK(aur_time_parse_ms("2026-03-03T18:00:06.464795505Z", &ms) == 0);
	CHECK(ms == 1772560806464LL);
	CHECK(strcmp(aur_time_format_ms(ms, out, sizeof(out)), "2026-03-03T18:00:06.464Z") == 0);
	CHECK(aur_time_parse_ms("2026-03-03T19:00:06+01:00", &ms) == 0 && ms == 1772560806000LL);
	CHECK(aur_time_parse_ms("1772560806", &ms) == 0 && ms == 1772560806000LL);
	CHECK(aur_time_parse_ms("1772560806464", &ms) == 0 && ms == 1772560806464LL);
	CHECK(aur_time_parse_ms("0001-01-01T00:00:00Z", &ms) == 0 && ms < 0);
	CHECK(aur_time_parse_ms("2026-13-01T00:00:00Z", &ms) == -EINVAL);
	CHECK(aur_time_parse_ms("yesterday", &ms) == -EINVAL);
	CHECK(aur_time_parse_ms("", &ms) == -EINVAL);
	CHECK(aur_time_parse_ms("2026-03-03", &ms) == 0 && ms == 1772496000000LL);
}

static void test_hmac(void)
{
	char hex[AUR_HEX_SHA256_LEN + 1];
	char reason[128];
	const char *body = "{\"a\":1}";
	char header[256];

	/* RFC 4231 test case 2 */
	aur_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, hex);
	CHECK(strcmp(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") == 0);
	aur_sha256_hex("abc", 3, hex);
	CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	CHECK(aur_token_matches("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	CHECK(!aur_token_matches("abd", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	CHECK(!aur_token_matches("abc", 3, ""));

	aur_hmac_sha256_hex("s3cret", 6, body, strlen(body), hex);
	snprintf(header, sizeof(header), "v1=%s", hex);
	CHECK(aur_verify_pagerduty("s3cret", header, body, strlen(body), reason, sizeof(reason)) == 0);
	snprintf(header, sizeof(header), "v1=deadbeef, v1=%s", hex);
	CHECK(aur_verify_pagerduty("s3cret", header, body, strlen(body), reason, sizeof(reason)) == 0);
	CHECK(aur_verify_pagerduty("other", header, body, strlen(body), reason, sizeof(reason)) == -EACCES);
	CHECK(aur_verify_pagerduty("s3cret", "", body, strlen(body), reason, sizeof(reason)) == -EACCES);

	CHECK(aur_verify_grafana("s3cret", hex, NULL, body, strlen(body), 0, 300, reason, sizeof(reason)) == 0);
	aur_hmac_sha256_hex("s3cret", 6, "1000:{\"a\":1}", 12, hex);
	CHECK(aur_verify_grafana("s3cret", hex, "1000", body, strlen(body), 1100, 300, reason, sizeof(reason)) == 0);
	CHECK(aur_verify_grafana("s3cret", hex, "1000", body, strlen(body), 2000, 300, reason, sizeof(reason)) == -EACCES);
	CHECK(strstr(reason, "away from now") != NULL);
	CHECK(aur_verify_grafana("s3cret", hex, NULL, body, strlen(body), 1000, 300, reason, sizeof(reason)) == -EACCES);
}

static void test_basic(void)
{
	char pw[64];

	/* "user:tok:en" */
	CHECK(aur_basic_password("Basic dXNlcjp0b2s6ZW4=", pw, sizeof(pw)) == 0 && !strcmp(pw, "tok:en"));
	/* ":x" */
	CHECK(aur_basic_password("basic Ong=", pw, sizeof(pw)) == 0 && !strcmp(pw, "x"));
	CHECK(aur_basic_password("Bearer abc", pw, sizeof(pw)) == -EINVAL);
	CHECK(aur_basic_password("Basic !!!!", pw, sizeof(pw)) == -EINVAL);
	/* "nocolon" */
	CHECK(aur_basic_password("Basic bm9jb2xvbg==", pw, sizeof(pw)) == -EINVAL);
	CHECK(aur_basic_password("Basic dXNlcjp0b2s6ZW4=", pw, 3) == -E2BIG);
}

static void test_buf(void)
{
	struct aur_buf b;
	char *p;
	size_t len;

	aur_buf_init(&b, 8);
	CHECK(aur_buf_adds(&b, "12345") == 0);
	CHECK(aur_buf_addf(&b, "%d", 678) == 0);
	CHECK(b.len == 8 && !strcmp(b.data, "12345678"));
	CHECK(aur_buf_adds(&b, "9") == -E2BIG);
	CHECK(b.len == 8 && !strcmp(b.data, "12345678"));
	p = aur_buf_detach(&b, &len);
	CHECK(len == 8 && b.data == NULL);
	free(p);
	aur_buf_release(&b);
}

static void test_form(void)
{
	const char *form = "title=CPU+high%21&tags=env%3Aprod%2Cservice%3Aweb&empty=&bad=%zz";
	jv obj = aur_inbox_form_decode(form, strlen(form));
	jv v;

	v = jv_object_get(jv_copy(obj), jv_string("title"));
	CHECK(jv_get_kind(v) == JV_KIND_STRING && !strcmp(jv_string_value(v), "CPU high!"));
	jv_free(v);
	v = jv_object_get(jv_copy(obj), jv_string("tags"));
	CHECK(jv_get_kind(v) == JV_KIND_STRING && !strcmp(jv_string_value(v), "env:prod,service:web"));
	jv_free(v);
	v = jv_object_get(jv_copy(obj), jv_string("empty"));
	CHECK(jv_get_kind(v) == JV_KIND_STRING && !strcmp(jv_string_value(v), ""));
	jv_free(v);
	v = jv_object_get(jv_copy(obj), jv_string("bad"));
	CHECK(jv_get_kind(v) == JV_KIND_STRING && !strcmp(jv_string_value(v), "%zz"));
	jv_free(v);
	jv_free(obj);
}

int main(void)
{
	test_time();
	test_hmac();
	test_basic();
	test_buf();
	test_form();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
