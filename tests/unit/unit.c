/*
 * unit.c - unit tests for lib/ modules whose behaviour is clearer tested
 * directly than through a command: time parsing, SHA-256 and HMAC (against
 * the published vectors and against libcrypto, which only this binary
 * links), token checks, bounded buffers, form decoding, the recent
 * deliveries' table (its probing and eviction), the HTTP framing policy's
 * edges (paths, lists of transfer codings), the service catalog's lookups
 * (names, titles, aliases and tool identities through the service key;
 * dependencies; what is ambiguous). Run by
 * tests/unit.bats; prints one line per failed check and "N passed,
 * N failed" at the end.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jq.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "auth.h"
#include "buf.h"
#include "catalog.h"
#include "diag.h"
#include "form.h"
#include "http_parse.h"
#include "inbox.h"
#include "jsonl.h"
#include "jvio.h"
#include "llm.h"
#include "postmortem.h"
#include "recent.h"
#include "record.h"
#include "sha256.h"
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

/* 1 when the first n bytes of md are the hex digits in want (2n of them) */
static int digest_is(const unsigned char *md, size_t n, const char *want)
{
	char hex[2 * AUR_SHA256_LEN + 1];

	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return strlen(want) == 2 * n && memcmp(hex, want, 2 * n) == 0;
}

/* FIPS 180-4 / NIST CSRC examples for SHA-256, plus the empty message */
static void test_sha256_vectors(void)
{
	static const char m448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const char million_a[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	unsigned char md[AUR_SHA256_LEN];
	unsigned char chunk[997];
	struct aur_sha256_ctx ctx;
	unsigned char *a;
	size_t left;

	aur_sha256("abc", 3, md);
	CHECK(digest_is(md, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	CHECK(strlen(m448) * 8 == 448);
	aur_sha256(m448, strlen(m448), md);
	CHECK(digest_is(md, 32, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
	aur_sha256(NULL, 0, md);
	CHECK(digest_is(md, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));

	a = malloc(1000000);
	CHECK(a != NULL);
	if (a) {
		memset(a, 'a', 1000000);
		aur_sha256(a, 1000000, md);
		CHECK(digest_is(md, 32, million_a));
		free(a);
	}
	/* the same million in pieces that straddle every block boundary differently */
	memset(chunk, 'a', sizeof(chunk));
	aur_sha256_init(&ctx);
	for (left = 1000000; left > 0;) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);

		aur_sha256_update(&ctx, chunk, n);
		left -= n;
	}
	aur_sha256_final(&ctx, md);
	CHECK(digest_is(md, 32, million_a));
	/* byte by byte, through the partial-block path only */
	aur_sha256_init(&ctx);
	for (int i = 0; i < 3; i++)
		aur_sha256_update(&ctx, "abc" + i, 1);
	aur_sha256_final(&ctx, md);
	CHECK(digest_is(md, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}

/* RFC 4231 section 4: HMAC-SHA-256 test cases 1 to 7 */
static void test_hmac_rfc4231(void)
{
	static const char data6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
	static const char data7[] = "This is a test using a larger than block-size key and a larger "
				    "than block-size data. The key needs to be hashed before being "
				    "used by the HMAC algorithm.";
	unsigned char key[131];
	unsigned char data[50];
	unsigned char md[AUR_SHA256_LEN];
	struct aur_hmac_sha256_ctx ctx;

	memset(key, 0x0b, 20);
	aur_hmac_sha256(key, 20, "Hi There", 8, md);
	CHECK(digest_is(md, 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"));

	aur_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, md);
	CHECK(digest_is(md, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));

	memset(key, 0xaa, 20);
	memset(data, 0xdd, 50);
	aur_hmac_sha256(key, 20, data, 50, md);
	CHECK(digest_is(md, 32, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"));

	for (int i = 0; i < 25; i++)
		key[i] = (unsigned char)(i + 1);
	memset(data, 0xcd, 50);
	aur_hmac_sha256(key, 25, data, 50, md);
	CHECK(digest_is(md, 32, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"));

	/* test case 5 publishes only the first 128 bits */
	memset(key, 0x0c, 20);
	aur_hmac_sha256(key, 20, "Test With Truncation", 20, md);
	CHECK(digest_is(md, 16, "a3b6167473100ee06e0c796c2955552b"));

	/* 6 and 7: a 131-byte key, longer than a block, is hashed first */
	memset(key, 0xaa, 131);
	aur_hmac_sha256(key, 131, data6, strlen(data6), md);
	CHECK(digest_is(md, 32, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"));
	CHECK(strlen(data7) == 152);
	aur_hmac_sha256(key, 131, data7, strlen(data7), md);
	CHECK(digest_is(md, 32, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"));
	aur_hmac_sha256_init(&ctx, key, 131);
	aur_hmac_sha256_update(&ctx, data7, 100);
	aur_hmac_sha256_update(&ctx, data7 + 100, strlen(data7) - 100);
	aur_hmac_sha256_final(&ctx, md);
	CHECK(digest_is(md, 32, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"));
}

/* splitmix64: a fixed seed, so a failure reproduces */
static uint64_t next_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static size_t rand_below(uint64_t *state, size_t n)
{
	return (size_t)(next_rand(state) % n);
}

static void fill_rand(uint64_t *state, unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)next_rand(state);
}

/* up to 8 cut points in 0..len, sorted, duplicates (empty pieces) allowed; returns their number */
static size_t random_cuts(uint64_t *state, size_t len, size_t cuts[8])
{
	size_t n = rand_below(state, 9);

	for (size_t i = 0; i < n; i++) {
		size_t c = rand_below(state, len + 1);
		size_t j = i;

		for (; j > 0 && cuts[j - 1] > c; j--)
			cuts[j] = cuts[j - 1];
		cuts[j] = c;
	}
	return n;
}

static void sha256_in_pieces(uint64_t *state, const unsigned char *msg, size_t len,
			     unsigned char out[AUR_SHA256_LEN])
{
	struct aur_sha256_ctx ctx;
	size_t cuts[8];
	size_t n = random_cuts(state, len, cuts);
	size_t at = 0;

	aur_sha256_init(&ctx);
	for (size_t i = 0; i < n; i++) {
		aur_sha256_update(&ctx, msg + at, cuts[i] - at);
		at = cuts[i];
	}
	aur_sha256_update(&ctx, msg + at, len - at);
	aur_sha256_final(&ctx, out);
}

static void hmac_in_pieces(uint64_t *state, const unsigned char *key, size_t keylen,
			   const unsigned char *msg, size_t len, unsigned char out[AUR_SHA256_LEN])
{
	struct aur_hmac_sha256_ctx ctx;
	size_t cuts[8];
	size_t n = random_cuts(state, len, cuts);
	size_t at = 0;

	aur_hmac_sha256_init(&ctx, key, keylen);
	for (size_t i = 0; i < n; i++) {
		aur_hmac_sha256_update(&ctx, msg + at, cuts[i] - at);
		at = cuts[i];
	}
	aur_hmac_sha256_update(&ctx, msg + at, len - at);
	aur_hmac_sha256_final(&ctx, out);
}

/* lib/sha256.c against libcrypto: every length 0..1000, then random keys and messages */
static void test_sha256_vs_libcrypto(void)
{
	uint64_t state = 20260304;
	unsigned char msg[1000];
	unsigned char key[200];
	unsigned char want[EVP_MAX_MD_SIZE];
	unsigned char got[AUR_SHA256_LEN];
	unsigned char got_pieces[AUR_SHA256_LEN];
	unsigned int wantlen = 0;
	int sha_bad = 0;
	int hmac_bad = 0;

	for (size_t len = 0; len <= sizeof(msg); len++) {
		fill_rand(&state, msg, len);
		SHA256(msg, len, want);
		aur_sha256(msg, len, got);
		sha256_in_pieces(&state, msg, len, got_pieces);
		if (memcmp(got, want, 32) != 0 || memcmp(got_pieces, want, 32) != 0) {
			if (!sha_bad)
				printf("FAIL %s:%d: SHA-256 differs from libcrypto at length %zu\n",
				       __FILE__, __LINE__, len);
			sha_bad++;
		}
	}
	CHECK(sha_bad == 0);

	/* every key length 0..200 once (63, 64, 65 among them), then random ones */
	for (size_t i = 0; i < 3000; i++) {
		size_t keylen = i <= sizeof(key) ? i : rand_below(&state, sizeof(key) + 1);
		size_t len = rand_below(&state, sizeof(msg) + 1);

		fill_rand(&state, key, keylen);
		fill_rand(&state, msg, len);
		if (!HMAC(EVP_sha256(), key, (int)keylen, msg, len, want, &wantlen) || wantlen != 32) {
			printf("FAIL %s:%d: libcrypto's HMAC failed\n", __FILE__, __LINE__);
			hmac_bad++;
			break;
		}
		aur_hmac_sha256(key, keylen, msg, len, got);
		hmac_in_pieces(&state, key, keylen, msg, len, got_pieces);
		if (memcmp(got, want, 32) != 0 || memcmp(got_pieces, want, 32) != 0) {
			if (!hmac_bad)
				printf("FAIL %s:%d: HMAC differs from libcrypto: key %zu bytes, message %zu\n",
				       __FILE__, __LINE__, keylen, len);
			hmac_bad++;
		}
	}
	CHECK(hmac_bad == 0);
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
	/* "u:p", no padding; "u:p1", two padding characters */
	CHECK(aur_basic_password("Basic dTpw", pw, sizeof(pw)) == 0 && !strcmp(pw, "p"));
	CHECK(aur_basic_password("Basic dTpwMQ==  ", pw, sizeof(pw)) == 0 && !strcmp(pw, "p1"));
	/* a length not a multiple of 4; padding anywhere but at the end */
	CHECK(aur_basic_password("Basic dXNlcjp0b2s6ZW4", pw, sizeof(pw)) == -EINVAL);
	CHECK(aur_basic_password("Basic Og==dTpw", pw, sizeof(pw)) == -EINVAL);
	CHECK(aur_basic_password("Basic dTp=dTpw", pw, sizeof(pw)) == -EINVAL);
	CHECK(aur_basic_password("Basic ====", pw, sizeof(pw)) == -EINVAL);
	CHECK(aur_basic_password("Basic dT=w", pw, sizeof(pw)) == -EINVAL);
	CHECK(aur_basic_password("Basic ", pw, sizeof(pw)) == -EINVAL);
}

static void test_random_wipe(void)
{
	char a[65];
	char b[65];
	unsigned char secret[16];

	CHECK(aur_random_hex(a, sizeof(a), 32) == 0 && strlen(a) == 64);
	CHECK(strspn(a, "0123456789abcdef") == 64);
	CHECK(aur_random_hex(b, sizeof(b), 32) == 0 && strcmp(a, b) != 0);
	CHECK(aur_random_hex(a, 64, 32) == -EINVAL);
	CHECK(aur_random_hex(a, sizeof(a), 129) == -EINVAL);
	memset(secret, 0x5a, sizeof(secret));
	aur_auth_wipe(secret, sizeof(secret));
	CHECK(secret[0] == 0 && secret[15] == 0 && !memcmp(secret, secret + 1, sizeof(secret) - 1));
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
	jv obj = aur_form_decode(form, strlen(form));
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

/* a FILE holding text, at its start, for the line reader */
static FILE *file_of(const char *text, size_t len)
{
	FILE *f = tmpfile();

	if (f) {
		fwrite(text, 1, len, f);
		fflush(f);
		rewind(f);
	}
	return f;
}

static void test_jsonl_reader(void)
{
	static const char text[] = "{\"a\":1}\n\n \t\r\n[1,2\n\"0123456789abcdef\"\n\"\\u00e9\"";
	struct aur_jsonl_reader r;
	FILE *f = file_of(text, sizeof(text) - 1);
	char err[256] = "";
	jv v;

	CHECK(f != NULL);
	if (!f)
		return;
	aur_jsonl_reader_init(&r, f, 16);
	CHECK(aur_jsonl_read(&r, &v, err, sizeof(err)) == 1 && r.lineno == 1);
	CHECK(jv_get_kind(v) == JV_KIND_OBJECT && !strcmp(r.line, "{\"a\":1}"));
	jv_free(v);
	/* blank lines are skipped; a broken line says why */
	CHECK(aur_jsonl_read(&r, &v, err, sizeof(err)) == -EINVAL && r.lineno == 4);
	CHECK(!strncmp(err, "invalid JSON: ", 14));
	CHECK(aur_jsonl_read(&r, &v, err, sizeof(err)) == -E2BIG && r.lineno == 5);
	/* the last line needs no newline */
	CHECK(aur_jsonl_read(&r, &v, err, sizeof(err)) == 1 && r.lineno == 6);
	CHECK(jv_get_kind(v) == JV_KIND_STRING && !strcmp(jv_string_value(v), "\xc3\xa9"));
	jv_free(v);
	CHECK(aur_jsonl_read(&r, &v, err, sizeof(err)) == 0);
	CHECK(aur_jsonl_reader_ready(&r) == 1);
	aur_jsonl_reader_release(&r);
	fclose(f);
}

/* aur_jvio_parse_at: the reason alone and the offset; aur_jvio_parse keeps "at byte N" */
static void test_jvio_parse_at(void)
{
	static const char sep[] = "{\"a\":[] \"b\":1}";
	static const char cut[] = "[1,\n";
	char err[128];
	size_t at = 99;
	jv v;

	CHECK(aur_jvio_parse_at(sep, sizeof(sep) - 1, &v, err, sizeof(err), &at) == -EINVAL);
	CHECK(at == 8 && !strcmp(err, "expected ',' or '}': '\"'"));
	CHECK(aur_jvio_parse(sep, sizeof(sep) - 1, &v, err, sizeof(err)) == -EINVAL);
	CHECK(!strcmp(err, "expected ',' or '}': '\"' at byte 9"));
	CHECK(aur_jvio_parse_at(cut, sizeof(cut) - 1, &v, err, sizeof(err), &at) == -EINVAL);
	CHECK(at == sizeof(cut) - 1 && !strcmp(err, "expected a value"));
	CHECK(aur_jvio_parse(cut, sizeof(cut) - 1, &v, err, sizeof(err)) == -EINVAL);
	CHECK(!strcmp(err, "expected a value at end of input"));
	CHECK(aur_jvio_parse_at("[\x01]", 3, &v, err, sizeof(err), &at) == -EINVAL);
	CHECK(at == 1 && !strcmp(err, "unexpected character: byte 0x01"));
	CHECK(aur_jvio_parse_at(" [1] ", 5, &v, err, sizeof(err), &at) == 0 && jv_get_kind(v) == JV_KIND_ARRAY);
	jv_free(v);
}

/* lines longer than one read(2) block, and lines split across blocks */
static void test_jsonl_long_lines(void)
{
	struct aur_buf text;
	struct aur_jsonl_reader r;
	char *line;
	size_t len, sizes[] = { 1, 300000, 5, 700000, 0, 262143, 262144, 3 };
	size_t n = sizeof(sizes) / sizeof(sizes[0]);
	int ok = 1;
	FILE *f;

	aur_buf_init(&text, 0);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < sizes[i]; j++)
			aur_buf_add(&text, &"abcdefghij"[(i + j) % 10], 1);
		aur_buf_add(&text, "\n", 1);
	}
	f = file_of(text.data, text.len);
	CHECK(f != NULL);
	if (!f)
		goto out;
	aur_jsonl_reader_init(&r, f, 500000);
	for (size_t i = 0; i < n; i++) {
		int rc = aur_jsonl_read_line(&r, &line, &len);

		if (sizes[i] > 500000)
			ok &= rc == -E2BIG;
		else
			ok &= rc == 1 && len == sizes[i] && strlen(line) == len &&
			      (len == 0 || line[len - 1] == "abcdefghij"[(i + len - 1) % 10]);
	}
	CHECK(ok);
	CHECK(aur_jsonl_read_line(&r, &line, &len) == 0 && r.lineno == n);
	aur_jsonl_reader_release(&r);
	fclose(f);
out:
	aur_buf_release(&text);
}

/* the writer prints what libjq prints, also what is too deep for jvio */
static void test_jsonl_writer(void)
{
	struct aur_jsonl_writer w;
	FILE *f = tmpfile();
	jv deep = jv_number(1);
	jv plain = jv_parse("{\"b\":[1,2.5,\"x\\n\"],\"a\":null,\"c\":1e300}");
	jv want = jv_dump_string(jv_copy(plain), 0);
	jv want_deep;
	char got[8192];
	size_t n;

	CHECK(f != NULL);
	if (!f) {
		jv_free(plain);
		jv_free(want);
		jv_free(deep);
		return;
	}
	for (int i = 0; i < AUR_JVIO_MAX_DUMP_DEPTH + 5; i++)
		deep = jv_array_append(jv_array(), deep);
	want_deep = jv_dump_string(jv_copy(deep), 0);
	aur_jsonl_writer_init(&w, f, -1);
	CHECK(w.flush == 0);
	CHECK(aur_jsonl_write(&w, plain) == 0);
	CHECK(aur_jsonl_write(&w, deep) == 0);
	fflush(f);
	rewind(f);
	n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	n = strlen(jv_string_value(want));
	CHECK(!strncmp(got, jv_string_value(want), n) && got[n] == '\n');
	CHECK(!strncmp(got + n + 1, jv_string_value(want_deep), strlen(jv_string_value(want_deep))));
	jv_free(want);
	jv_free(want_deep);
	fclose(f);
}

static void test_form_type(void)
{
	CHECK(aur_form_is_type("application/x-www-form-urlencoded"));
	CHECK(aur_form_is_type("Application/X-WWW-Form-Urlencoded; charset=utf-8"));
	CHECK(!aur_form_is_type("application/json"));
	CHECK(!aur_form_is_type(NULL));
}

/* aur_record_time_ms of v (consumed): 0 with *ms, or -1 */
static int time_ms(jv v, long long *ms)
{
	int rc = aur_record_time_ms(v, ms);

	jv_free(v);
	return rc;
}

static void test_record_time(void)
{
	long long ms = 0;

	CHECK(time_ms(jv_number(1700000000), &ms) == 0 && ms == 1700000000000LL);
	CHECK(time_ms(jv_number(1700000000123.0), &ms) == 0 && ms == 1700000000123LL);
	CHECK(time_ms(jv_string(" 1700000000.5 "), &ms) == 0 && ms == 1700000000500LL);
	CHECK(time_ms(jv_string("2023-11-14T22:13:20Z"), &ms) == 0 && ms == 1700000000000LL);
	CHECK(time_ms(jv_string("next tuesday"), &ms) < 0);
	CHECK(time_ms(jv_number(-5), &ms) < 0);
	CHECK(time_ms(jv_null(), &ms) < 0);
}

static enum http_path_fault path_fault(const char *path)
{
	return http_path_fault(path, strlen(path));
}

/* one field into a fresh http_framing: the status */
static unsigned one_field(const char *name, const char *value, struct http_framing *f)
{
	char why[160];

	memset(f, 0, sizeof(*f));
	return http_framing_field(f, name, value, why, sizeof(why));
}

static void test_framing(void)
{
	struct http_framing f;
	char why[160];

	CHECK(path_fault("/api/webhooks/grafana") == HTTP_PATH_OK);
	CHECK(path_fault("/a/...") == HTTP_PATH_OK);
	CHECK(path_fault("/a/.b/c.") == HTTP_PATH_OK);
	CHECK(path_fault("/a%2") == HTTP_PATH_OK);
	CHECK(path_fault("/a%%30%30") == HTTP_PATH_OK);
	CHECK(path_fault("/a%0") == HTTP_PATH_OK);
	CHECK(path_fault("/a%00") == HTTP_PATH_NUL);
	CHECK(path_fault("/a%2f") == HTTP_PATH_SLASH);
	CHECK(path_fault("/a%2Fb") == HTTP_PATH_SLASH);
	CHECK(path_fault(".") == HTTP_PATH_DOT);
	CHECK(path_fault("/..") == HTTP_PATH_DOT);
	CHECK(path_fault("/a/./b") == HTTP_PATH_DOT);
	CHECK(path_fault("/%2E%2e/b") == HTTP_PATH_DOT);
	CHECK(path_fault("/a/.%2e") == HTTP_PATH_DOT);
	CHECK(path_fault("/a/%2e%2e%2e") == HTTP_PATH_OK);
	/* the path ends where the caller says: a query is not looked at */
	CHECK(http_path_fault("/a?x=%00", 2) == HTTP_PATH_OK);

	CHECK(one_field("Transfer-Encoding", "chunked", &f) == 0 && f.chunked);
	CHECK(one_field("transfer-encoding", " CHUNKED ", &f) == 0 && f.chunked);
	CHECK(one_field("Transfer-Encoding", "gzip, chunked", &f) == 501);
	CHECK(one_field("Transfer-Encoding", "chunked, gzip", &f) == 400);
	CHECK(one_field("Transfer-Encoding", "chunked,chunked", &f) == 400);
	CHECK(one_field("Transfer-Encoding", "chunked,", &f) == 400);
	CHECK(one_field("Transfer-Encoding", ",chunked", &f) == 400);
	CHECK(one_field("Transfer-Encoding", "", &f) == 400);
	CHECK(one_field("Transfer-Encoding", "chunked;q=1", &f) == 501);
	CHECK(one_field("Transfer-Encoding", "gzip;q=\"1\", chunked", &f) == 501);
	CHECK(one_field("Content-Length", "12", &f) == 0 && f.has_length && f.length == 12);
	CHECK(one_field("Content-Length", "12 ", &f) == 0 && f.length == 12);
	CHECK(one_field("Content-Length", "+12", &f) == 400);
	CHECK(one_field("Content-Length", "1 2", &f) == 400);
	CHECK(one_field("Content-Length", "1234567890123456789", &f) == 400);
	CHECK(one_field("X-A", "a\tb", &f) == 0);
	CHECK(one_field("X-A", "a\x01b", &f) == 400);
	CHECK(one_field("X A", "1", &f) == 400);
	CHECK(one_field("", "1", &f) == 400);
	/* repeated fields and the end of the head */
	memset(&f, 0, sizeof(f));
	CHECK(http_framing_field(&f, "Content-Length", "0", why, sizeof(why)) == 0);
	CHECK(http_framing_field(&f, "content-length", "0", why, sizeof(why)) == 400);
	memset(&f, 0, sizeof(f));
	CHECK(http_framing_field(&f, "Host", "a", why, sizeof(why)) == 0);
	CHECK(http_framing_end(&f, 1, why, sizeof(why)) == 0);
	CHECK(http_framing_field(&f, "HOST", "a", why, sizeof(why)) == 400);
	memset(&f, 0, sizeof(f));
	CHECK(http_framing_end(&f, 1, why, sizeof(why)) == 400);
	CHECK(http_framing_end(&f, 0, why, sizeof(why)) == 0);
	CHECK(http_framing_field(&f, "Content-Length", "3", why, sizeof(why)) == 0);
	CHECK(http_framing_field(&f, "Transfer-Encoding", "chunked", why, sizeof(why)) == 0);
	CHECK(http_framing_end(&f, 0, why, sizeof(why)) == 400);
	CHECK(!strcmp(why, "both Content-Length and Transfer-Encoding"));
}

/* a hex SHA-256 whose first digit is d and the rest 0: all land in one probe group */
static const char *sha_with(char d, char *buf)
{
	memset(buf, '0', 64);
	buf[64] = '\0';
	buf[0] = d;
	return buf;
}

static void test_recent(void)
{
	struct aur_recent *r = NULL;
	char err[256] = "";
	char sha[65];
	long long ids[8];

	CHECK(aur_recent_open(&r, NULL, err, sizeof(err)) == 0);
	CHECK(aur_recent_find(r, "grafana", sha_with('a', sha), 0, ids, 8) == 0);
	aur_recent_add(r, "grafana", sha_with('a', sha), 1, 1000);
	CHECK(aur_recent_find(r, "grafana", sha_with('a', sha), 0, ids, 8) == 1 && ids[0] == 1);
	/* the platform is part of the key, and the window bounds it */
	CHECK(aur_recent_find(r, "alertmanager", sha_with('a', sha), 0, ids, 8) == 0);
	CHECK(aur_recent_find(r, "grafana", sha_with('a', sha), 1001, ids, 8) == 0);
	/* the same body again: newest first */
	aur_recent_add(r, "grafana", sha_with('a', sha), 5, 1005);
	CHECK(aur_recent_find(r, "grafana", sha_with('a', sha), 0, ids, 8) == 2 && ids[0] == 5 && ids[1] == 1);
	/* six more fill the group of eight */
	for (int i = 0; i < 6; i++)
		aur_recent_add(r, "grafana", sha_with((char)('1' + i), sha), 10 + i, 2000 + i);
	CHECK(aur_recent_find(r, "grafana", sha_with('a', sha), 0, ids, 8) == 2);
	CHECK(aur_recent_find(r, "grafana", sha_with('6', sha), 0, ids, 8) == 1 && ids[0] == 15);
	/* a row added twice keeps its one slot: nothing is given up */
	aur_recent_add(r, "grafana", sha_with('6', sha), 15, 2005);
	CHECK(aur_recent_find(r, "grafana", sha_with('a', sha), 0, ids, 8) == 2);
	/* a full group gives up its oldest slot: id 1 (at 1000), then id 5 */
	aur_recent_add(r, "grafana", sha_with('f', sha), 20, 3000);
	CHECK(aur_recent_find(r, "grafana", sha_with('a', sha), 0, ids, 8) == 1 && ids[0] == 5);
	CHECK(aur_recent_find(r, "grafana", sha_with('f', sha), 0, ids, 8) == 1 && ids[0] == 20);
	aur_recent_add(r, "grafana", sha_with('e', sha), 21, 3001);
	CHECK(aur_recent_find(r, "grafana", sha_with('a', sha), 0, ids, 8) == 0);
	CHECK(aur_recent_find(r, "grafana", sha_with('1', sha), 0, ids, 8) == 1 && ids[0] == 10);
	/* what is not hex still has a fingerprint */
	aur_recent_add(r, "grafana", "not hex", 30, 4000);
	CHECK(aur_recent_find(r, "grafana", "not hex", 0, ids, 8) == 1 && ids[0] == 30);
	aur_recent_close(r);
}


/* ---- lib/llm*.c: stream parsers, request translation, configuration; and the
 * llm-chat test mode that tests/llm.bats drives against tests/helpers/llm-standin.py ---- */

static const char llm_openai_stream[] =
	": keep-alive comment\n"
	"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":"
	"{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
	"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Disk \\u00e9 full\"},"
	"\"finish_reason\":null}]}\n\n"
	"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" on db-1.\"},"
	"\"finish_reason\":null}]}\n\n"
	"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":"
	"\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"run_diagnostic\",\"arguments\":\"\"}}]},"
	"\"finish_reason\":null}]}\n\n"
	"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
	"{\"arguments\":\"{\\\"command\\\": \\\"df\"}}]},\"finish_reason\":null}]}\n\n"
	"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":"
	"\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"related_alerts\",\"arguments\":\"{}\"}}]},"
	"\"finish_reason\":null}]}\n\n"
	"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
	"{\"arguments\":\" -h\\\"}\"}}]},\"finish_reason\":null}]}\n\n"
	"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
	"data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":12}}\n\n"
	"data: [DONE]\n\n";

static const char llm_anthropic_stream[] =
	"event: message_start\n"
	"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":"
	"\"assistant\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n"
	"event: content_block_start\n"
	"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	"event: ping\ndata: {\"type\": \"ping\"}\n\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Disk \\u00e9 full\"}}\n\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" on db-1.\"}}\n\n"
	"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	"event: content_block_start\n"
	"data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":"
	"\"call_a\",\"name\":\"run_diagnostic\",\"input\":{}}}\n\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
	"\"partial_json\":\"\"}}\n\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
	"\"partial_json\":\"{\\\"command\\\": \\\"df\"}}\n\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
	"\"partial_json\":\" -h\\\"}\"}}\n\n"
	"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
	"event: content_block_start\n"
	"data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":"
	"\"call_b\",\"name\":\"related_alerts\",\"input\":{}}}\n\n"
	"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n"
	"event: message_delta\n"
	"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
	"\"usage\":{\"output_tokens\":15}}\n\n"
	"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

static const char llm_want_calls[] =
	"[{\"id\":\"call_a\",\"name\":\"run_diagnostic\",\"arguments\":{\"command\":\"df -h\"}},"
	"{\"id\":\"call_b\",\"name\":\"related_alerts\",\"arguments\":{}}]";

struct llm_text {
	char buf[256];
	size_t len;
	int calls;
};

static int llm_collect(void *arg, const char *text, size_t len)
{
	struct llm_text *t = arg;

	if (len > sizeof(t->buf) - 1 - t->len)
		return -E2BIG;
	memcpy(t->buf + t->len, text, len);
	t->len += len;
	t->buf[t->len] = '\0';
	t->calls++;
	return 0;
}

/* parse s fed as the pieces [0,a) [a,b) [b,n); 0 or the error; the result and streamed text out */
static int llm_parse(enum aur_llm_provider p, const char *s, size_t n, size_t a, size_t b,
		     struct aur_llm_result *res, struct llm_text *t, char *err, size_t errlen)
{
	struct aur_llm_stream *st = aur_llm_stream_new(p, 0, 0, llm_collect, t);
	int rc;

	memset(t, 0, sizeof(*t));
	rc = aur_llm_stream_feed(st, s, a, err, errlen);
	if (rc == 0)
		rc = aur_llm_stream_feed(st, s + a, b - a, err, errlen);
	if (rc == 0)
		rc = aur_llm_stream_feed(st, s + b, n - b, err, errlen);
	if (rc == 0)
		rc = aur_llm_stream_finish(st, res, err, errlen);
	else
		aur_llm_result_init(res);
	aur_llm_stream_free(st);
	return rc;
}

static int llm_calls_are(jv calls, const char *want)
{
	jv w = jv_parse(want);
	int same = jv_equal(jv_copy(calls), w);

	return same;
}

/* the canned stream of provider p, split at every byte (and at every pair for short
 * streams), must give the same text, streamed text, tool calls and stop reason */
static void test_llm_splits(enum aur_llm_provider p, const char *s)
{
	size_t n = strlen(s);
	struct aur_llm_result res;
	struct llm_text t;
	char err[256] = "";
	int bad = 0;

	CHECK(llm_parse(p, s, n, n, n, &res, &t, err, sizeof(err)) == 0);
	CHECK(strcmp(res.text, "Disk \xc3\xa9 full on db-1.") == 0);
	CHECK(strcmp(t.buf, res.text) == 0 && t.calls == 2);
	CHECK(strcmp(res.stop, "tool_calls") == 0);
	CHECK(llm_calls_are(res.tool_calls, llm_want_calls));
	aur_llm_result_release(&res);
	for (size_t a = 0; a <= n && !bad; a++) {
		/* two cuts: at a, and at a point that walks the rest of the stream */
		size_t b = a + (a * 7919) % (n - a + 1);

		if (llm_parse(p, s, n, a, b, &res, &t, err, sizeof(err)) != 0 ||
		    strcmp(res.text, "Disk \xc3\xa9 full on db-1.") != 0 || strcmp(t.buf, res.text) != 0 ||
		    strcmp(res.stop, "tool_calls") != 0 || !llm_calls_are(res.tool_calls, llm_want_calls)) {
			printf("FAIL %s: split at %zu and %zu differs: %s\n", aur_llm_provider_name(p), a, b, err);
			bad = 1;
		}
		aur_llm_result_release(&res);
	}
	CHECK(!bad);
	/* byte by byte */
	{
		struct aur_llm_stream *st = aur_llm_stream_new(p, 0, 0, llm_collect, &t);
		int rc = 0;

		memset(&t, 0, sizeof(t));
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = aur_llm_stream_feed(st, s + i, 1, err, sizeof(err));
		CHECK(rc == 0 && aur_llm_stream_finish(st, &res, err, sizeof(err)) == 0);
		CHECK(strcmp(res.text, "Disk \xc3\xa9 full on db-1.") == 0 && llm_calls_are(res.tool_calls, llm_want_calls));
		aur_llm_result_release(&res);
		aur_llm_stream_free(st);
	}
	/* every truncation either fails with -EPROTO or, past the end marker, gives it all:
	 * never a shortened answer taken as whole */
	bad = 0;
	for (size_t cut = 0; cut < n && !bad; cut++) {
		int rc = llm_parse(p, s, cut, cut, cut, &res, &t, err, sizeof(err));

		if (rc != -EPROTO &&
		    !(rc == 0 && strcmp(res.text, "Disk \xc3\xa9 full on db-1.") == 0 &&
		      llm_calls_are(res.tool_calls, llm_want_calls))) {
			printf("FAIL %s: truncated at %zu: rc %d text \"%s\"\n", aur_llm_provider_name(p), cut, rc,
			       res.text ? res.text : "");
			bad = 1;
		}
		aur_llm_result_release(&res);
	}
	CHECK(!bad);
	/* cut after the first whole event: the end marker is what is missing */
	n = (size_t)(strstr(s, "\n\n") - s) + 2;
	CHECK(llm_parse(p, s, n, n, n, &res, &t, err, sizeof(err)) == -EPROTO);
	CHECK(strstr(err, "truncated") != NULL);
	aur_llm_result_release(&res);
}

/* CRLF and lone-CR line ends are SSE too */
static void test_llm_line_ends(enum aur_llm_provider p, const char *s)
{
	struct aur_buf crlf;
	struct aur_buf cr;
	struct aur_llm_result res;
	struct llm_text t;
	char err[256] = "";

	aur_buf_init(&crlf, 0);
	aur_buf_init(&cr, 0);
	for (const char *c = s; *c; c++) {
		aur_buf_add(&crlf, *c == '\n' ? "\r\n" : c, *c == '\n' ? 2 : 1);
		aur_buf_add(&cr, *c == '\n' ? "\r" : c, 1);
	}
	for (size_t a = 0; a <= crlf.len; a += 1) {
		int rc = llm_parse(p, crlf.data, crlf.len, a, a, &res, &t, err, sizeof(err));

		if (rc != 0 || !llm_calls_are(res.tool_calls, llm_want_calls)) {
			printf("FAIL CRLF split at %zu: %s\n", a, err);
			failed++;
			aur_llm_result_release(&res);
			break;
		}
		aur_llm_result_release(&res);
	}
	CHECK(llm_parse(p, cr.data, cr.len, cr.len / 3, cr.len / 2, &res, &t, err, sizeof(err)) == 0);
	CHECK(strcmp(res.text, "Disk \xc3\xa9 full on db-1.") == 0 && llm_calls_are(res.tool_calls, llm_want_calls));
	aur_llm_result_release(&res);
	aur_buf_release(&crlf);
	aur_buf_release(&cr);
}

static int llm_one(enum aur_llm_provider p, const char *s, struct aur_llm_result *res, char *err, size_t errlen)
{
	struct llm_text t;

	return llm_parse(p, s, strlen(s), 0, 0, res, &t, err, errlen);
}

static void test_llm_bad_streams(void)
{
	struct aur_llm_result res;
	struct aur_llm_stream *st;
	struct llm_text t;
	char err[256] = "";
	char big[3000];

	/* not JSON */
	CHECK(llm_one(AUR_LLM_OPENAI, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {not json\n\n"
		      "data: [DONE]\n\n", &res, err, sizeof(err)) == -EPROTO);
	CHECK(strstr(err, "not a JSON object") != NULL);
	aur_llm_result_release(&res);
	CHECK(llm_one(AUR_LLM_ANTHROPIC, "event: message_start\ndata: [1,2]\n\n", &res, err, sizeof(err)) == -EPROTO);
	aur_llm_result_release(&res);
	/* an error event, with the provider's words */
	CHECK(llm_one(AUR_LLM_ANTHROPIC, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
		      "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n", &res, err, sizeof(err)) == -EIO);
	CHECK(strstr(err, "overloaded_error: Overloaded") != NULL);
	aur_llm_result_release(&res);
	CHECK(llm_one(AUR_LLM_OPENAI, "data: {\"error\":{\"message\":\"boom\"}}\n\n", &res, err, sizeof(err)) == -EIO);
	aur_llm_result_release(&res);
	/* a tool call index out of range, a delta for a block that is not a tool_use */
	CHECK(llm_one(AUR_LLM_OPENAI, "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":64}]}}]}\n\n",
		      &res, err, sizeof(err)) == -EPROTO);
	aur_llm_result_release(&res);
	CHECK(llm_one(AUR_LLM_ANTHROPIC, "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
		      "\"input_json_delta\",\"partial_json\":\"{\"}}\n\n", &res, err, sizeof(err)) == -EPROTO);
	aur_llm_result_release(&res);
	/* arguments that are not JSON are reported, not dropped */
	CHECK(llm_one(AUR_LLM_OPENAI, "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"x\","
		      "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\": \"}}]},\"finish_reason\":"
		      "\"tool_calls\"}]}\n\ndata: [DONE]\n\n", &res, err, sizeof(err)) == 0);
	{
		jv c = jv_array_get(jv_copy(res.tool_calls), 0);
		jv args = jv_object_get(jv_copy(c), jv_string("arguments"));
		jv why = jv_object_get(jv_copy(c), jv_string("error"));
		jv text = jv_object_get(c, jv_string("arguments_text"));

		CHECK(jv_get_kind(args) == JV_KIND_NULL);
		CHECK(jv_get_kind(why) == JV_KIND_STRING && strstr(jv_string_value(why), "not valid JSON"));
		CHECK(jv_get_kind(text) == JV_KIND_STRING && strcmp(jv_string_value(text), "{\"a\": ") == 0);
		jv_free(args);
		jv_free(why);
		jv_free(text);
	}
	aur_llm_result_release(&res);
	/* bounds: one event, the whole answer */
	memset(big, 'x', sizeof(big));
	st = aur_llm_stream_new(AUR_LLM_OPENAI, 0, 1024, NULL, NULL);
	CHECK(aur_llm_stream_feed(st, "data: \"", 7, err, sizeof(err)) == 0);
	CHECK(aur_llm_stream_feed(st, big, sizeof(big), err, sizeof(err)) == -EPROTO);
	CHECK(strstr(err, "longer than 1024") != NULL);
	/* sticky */
	CHECK(aur_llm_stream_feed(st, "\n\n", 2, err, sizeof(err)) == -EPROTO);
	aur_llm_stream_free(st);
	st = aur_llm_stream_new(AUR_LLM_OPENAI, 2048, 0, NULL, NULL);
	CHECK(aur_llm_stream_feed(st, big, 2000, err, sizeof(err)) == 0);
	CHECK(aur_llm_stream_feed(st, big, 100, err, sizeof(err)) == -EPROTO);
	CHECK(strstr(err, "larger than 2048") != NULL);
	aur_llm_stream_free(st);
	/* the text callback can stop the stream */
	memset(&t, 0, sizeof(t));
	t.len = sizeof(t.buf) - 1;
	st = aur_llm_stream_new(AUR_LLM_OPENAI, 0, 0, llm_collect, &t);
	CHECK(aur_llm_stream_feed(st, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n", 48, err,
				  sizeof(err)) == -E2BIG);
	aur_llm_stream_free(st);
	/* an empty answer is truncated */
	CHECK(llm_one(AUR_LLM_ANTHROPIC, "", &res, err, sizeof(err)) == -EPROTO);
	aur_llm_result_release(&res);
	/* a last event without its blank line still counts */
	CHECK(llm_one(AUR_LLM_OPENAI, "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"},\"finish_reason\":"
		      "\"stop\"}]}", &res, err, sizeof(err)) == 0);
	CHECK(strcmp(res.text, "ok") == 0 && strcmp(res.stop, "end") == 0);
	aur_llm_result_release(&res);
}

static int llm_body_is(const struct aur_llm_config *cfg, const char *msgs, const char *tools, const char *want)
{
	jv m = jv_parse(msgs);
	jv t = jv_parse(tools);
	jv body = jv_invalid();
	char err[256] = "";
	int ok;

	ok = aur_llm_request_body(cfg, m, t, &body, err, sizeof(err)) == 0 && jv_equal(jv_copy(body), jv_parse(want));
	if (!ok) {
		jv d = jv_dump_string(jv_copy(body), 0);

		printf("request body: %s (%s)\n", jv_is_valid(d) ? jv_string_value(d) : "invalid", err);
		jv_free(d);
	}
	jv_free(body);
	jv_free(m);
	jv_free(t);
	return ok;
}

/* aur_llm_request_body's return for messages and tools given as JSON text */
static int llm_body_rc(const struct aur_llm_config *cfg, const char *msgs, const char *tools, char *err, size_t errlen)
{
	jv m = jv_parse(msgs);
	jv t = jv_parse(tools);
	jv body = jv_invalid();
	int rc = aur_llm_request_body(cfg, m, t, &body, err, errlen);

	jv_free(body);
	jv_free(m);
	jv_free(t);
	return rc;
}

static void test_llm_request(void)
{
	static const char msgs[] =
		"[{\"role\":\"system\",\"content\":\"You investigate.\"},"
		"{\"role\":\"user\",\"content\":\"Incident 7\"},"
		"{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":\"c1\",\"name\":\"df\",\"arguments\":{\"h\":true}},"
		"{\"id\":\"c2\",\"name\":\"up\",\"arguments\":{}}]},"
		"{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"98%\"},"
		"{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":{\"up\":1}}]";
	static const char tools[] = "[{\"name\":\"df\",\"description\":\"disk\",\"parameters\":{\"type\":\"object\"}}]";
	struct aur_llm_config cfg = {.provider = AUR_LLM_OPENAI, .model = (char *)"m", .max_tokens = 100};
	char err[256] = "";

	CHECK(llm_body_is(&cfg, msgs, tools,
			  "{\"model\":\"m\",\"max_tokens\":100,\"stream\":true,\"messages\":["
			  "{\"role\":\"system\",\"content\":\"You investigate.\"},"
			  "{\"role\":\"user\",\"content\":\"Incident 7\"},"
			  "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
			  "{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"df\",\"arguments\":\"{\\\"h\\\":true}\"}},"
			  "{\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"up\",\"arguments\":\"{}\"}}]},"
			  "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"98%\"},"
			  "{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":\"{\\\"up\\\":1}\"}],"
			  "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"df\",\"description\":\"disk\","
			  "\"parameters\":{\"type\":\"object\"}}}]}"));
	cfg.provider = AUR_LLM_ANTHROPIC;
	/* system at the top; both tool results in the one user turn after the tool uses */
	CHECK(llm_body_is(&cfg, msgs, tools,
			  "{\"model\":\"m\",\"max_tokens\":100,\"stream\":true,\"system\":\"You investigate.\",\"messages\":["
			  "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Incident 7\"}]},"
			  "{\"role\":\"assistant\",\"content\":["
			  "{\"type\":\"tool_use\",\"id\":\"c1\",\"name\":\"df\",\"input\":{\"h\":true}},"
			  "{\"type\":\"tool_use\",\"id\":\"c2\",\"name\":\"up\",\"input\":{}}]},"
			  "{\"role\":\"user\",\"content\":["
			  "{\"type\":\"tool_result\",\"tool_use_id\":\"c1\",\"content\":\"98%\"},"
			  "{\"type\":\"tool_result\",\"tool_use_id\":\"c2\",\"content\":\"{\\\"up\\\":1}\"}]}],"
			  "\"tools\":[{\"name\":\"df\",\"description\":\"disk\",\"input_schema\":{\"type\":\"object\"}}]}"));
	/* malformed messages say which */
	CHECK(llm_body_rc(&cfg, "[{\"role\":\"robot\",\"content\":\"x\"}]", "null", err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "message 0") != NULL);
	CHECK(llm_body_rc(&cfg, "[{\"role\":\"tool\",\"content\":\"x\"}]", "null", err, sizeof(err)) == -EINVAL);
	CHECK(llm_body_rc(&cfg, "[]", "null", err, sizeof(err)) == -EINVAL);
	CHECK(llm_body_rc(&cfg, "[{\"role\":\"user\",\"content\":\"x\"}]", "[{\"name\":1}]", err,
			  sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "tool 0") != NULL);
}

static void test_llm_config(void)
{
	struct aur_llm_config cfg;
	char err[256] = "";

	CHECK(aur_llm_config_parse(jv_parse("{\"provider\":\"anthropic\",\"model\":\"claude\",\"api_key_env\":\"K\"}"),
				   &cfg, err, sizeof(err)) == 0);
	CHECK(cfg.provider == AUR_LLM_ANTHROPIC && strcmp(cfg.url, "https://api.anthropic.com/v1") == 0);
	CHECK(strcmp(cfg.key_env, "K") == 0 && cfg.key_file == NULL);
	aur_llm_config_release(&cfg);
	CHECK(aur_llm_config_parse(jv_parse("{\"provider\":\"ollama\",\"model\":\"llama3\"}"), &cfg, err,
				   sizeof(err)) == 0);
	CHECK(cfg.provider == AUR_LLM_OPENAI && strcmp(cfg.url, "http://127.0.0.1:11434/v1") == 0);
	aur_llm_config_release(&cfg);
	/* a key in the configuration itself is refused, and not echoed */
	CHECK(aur_llm_config_parse(jv_parse("{\"model\":\"m\",\"api_key\":\"sk-secret\"}"), &cfg, err,
				   sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "api_key_file") != NULL && strstr(err, "sk-secret") == NULL);
	CHECK(aur_llm_config_parse(jv_parse("{\"model\":\"m\",\"modle\":\"x\"}"), &cfg, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "modle") != NULL);
	CHECK(aur_llm_config_parse(jv_parse("{\"provider\":\"azure\"}"), &cfg, err, sizeof(err)) == -EINVAL);
	CHECK(aur_llm_config_parse(jv_parse("{\"model\":\"m\",\"url\":\"file:///etc/passwd\"}"), &cfg, err,
				   sizeof(err)) == -EINVAL);
	CHECK(aur_llm_config_parse(jv_parse("{\"model\":\"m\",\"max_tokens\":0}"), &cfg, err, sizeof(err)) == -EINVAL);
	CHECK(aur_llm_config_parse(jv_parse("[]"), &cfg, err, sizeof(err)) == -EINVAL);
}

static void test_llm(void)
{
	test_llm_splits(AUR_LLM_OPENAI, llm_openai_stream);
	test_llm_splits(AUR_LLM_ANTHROPIC, llm_anthropic_stream);
	test_llm_line_ends(AUR_LLM_OPENAI, llm_openai_stream);
	test_llm_line_ends(AUR_LLM_ANTHROPIC, llm_anthropic_stream);
	test_llm_bad_streams();
	test_llm_request();
	test_llm_config();
}

struct llm_deltas {
	jv list;
};

static int llm_delta(void *arg, const char *text, size_t len)
{
	struct llm_deltas *d = arg;

	d->list = jv_array_append(d->list, jv_string_sized(text, (int)len));
	return 0;
}

static const char *llm_errname(int rc)
{
	switch (rc) {
	case 0:
		return "ok";
	case -ETIMEDOUT:
		return "ETIMEDOUT";
	case -EAGAIN:
		return "EAGAIN";
	case -EPROTO:
		return "EPROTO";
	case -EIO:
		return "EIO";
	case -EACCES:
		return "EACCES";
	case -EINVAL:
		return "EINVAL";
	default:
		return "other";
	}
}

/*
 * unit-tests llm-chat FILE: one aur_llm_chat call as FILE says
 * ({config, messages, tools, timeout_ms}); prints {rc, error, text, deltas,
 * tool_calls, stop, status, attempts, elapsed_ms} on stdout, the error on
 * stderr; exits 0 when the call succeeded, 1 when it failed, 2 on misuse.
 */
static int llm_chat_main(const char *path)
{
	jv file = jv_load_file(path, 0);
	jv req = jv_invalid();
	jv out = jv_invalid();
	struct aur_llm_config cfg;
	struct aur_llm_result res;
	struct llm_deltas d = {jv_array()};
	char err[512] = "";
	long long start;
	int rc = -EINVAL;
	int status = 2;

	memset(&cfg, 0, sizeof(cfg));
	/* empty until aur_llm_chat fills it, and releasable before */
	memset(&res, 0, sizeof(res));
	res.tool_calls = jv_null();
	if (jv_get_kind(file) != JV_KIND_ARRAY || jv_array_length(jv_copy(file)) != 1) {
		fprintf(stderr, "unit-tests: llm-chat: %s is not one JSON object\n", path);
		goto out;
	}
	req = jv_array_get(jv_copy(file), 0);
	if (aur_llm_config_parse(jv_object_get(jv_copy(req), jv_string("config")), &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "unit-tests: llm-chat: %s\n", err);
		goto out;
	}
	{
		jv t = jv_object_get(jv_copy(req), jv_string("timeout_ms"));
		long long timeout = jv_get_kind(t) == JV_KIND_NUMBER ? (long long)jv_number_value(t) : 10000;
		jv msgs = jv_object_get(jv_copy(req), jv_string("messages"));
		jv tools = jv_object_get(jv_copy(req), jv_string("tools"));

		jv_free(t);
		start = aur_time_mono_ms();
		rc = aur_llm_chat(&cfg, msgs, tools, llm_delta, &d, start + timeout, &res, err, sizeof(err));
		jv_free(msgs);
		jv_free(tools);
	}
	out = JV_OBJECT(jv_string("rc"), jv_string(llm_errname(rc)), jv_string("error"), jv_string(err),
			jv_string("text"), jv_string(res.text ? res.text : ""), jv_string("deltas"), d.list,
			jv_string("tool_calls"), jv_copy(res.tool_calls), jv_string("stop"),
			jv_string(res.stop ? res.stop : ""));
	d.list = jv_invalid();
	out = jv_object_set(out, jv_string("status"), jv_number(res.status));
	out = jv_object_set(out, jv_string("attempts"), jv_number(res.attempts));
	out = jv_object_set(out, jv_string("elapsed_ms"), jv_number((double)(aur_time_mono_ms() - start)));
	{
		jv line = jv_dump_string(out, 0);

		out = jv_invalid();
		printf("%s\n", jv_string_value(line));
		jv_free(line);
	}
	if (rc < 0)
		fprintf(stderr, "unit-tests: llm-chat: %s\n", err);
	status = rc < 0 ? 1 : 0;
out:
	jv_free(d.list);
	jv_free(out);
	jv_free(req);
	jv_free(file);
	aur_llm_result_release(&res);
	aur_llm_config_release(&cfg);
	if (fflush(stdout) != 0 || ferror(stdout))
		status = 2;
	return status;
}

/* ------------------------------------------------------------------ diag */

static struct aur_diag_policy *diag_policy(const char *text)
{
	struct aur_diag_policy *p = NULL;
	char err[512] = "";

	if (aur_diag_policy_parse(text, "test.conf", &p, err, sizeof(err)) < 0)
		printf("FAIL diag policy: %s\n", err);
	return p;
}

/* the error of a policy that must not load: "" when it loaded */
static const char *diag_policy_error(const char *text, char *err, size_t len)
{
	struct aur_diag_policy *p = NULL;

	err[0] = '\0';
	if (aur_diag_policy_parse(text, "test.conf", &p, err, len) == 0) {
		aur_diag_policy_free(p);
		err[0] = '\0';
	}
	return err;
}

/* aur_diag_check's answer; reason gets why */
static int diag_check(const struct aur_diag_policy *p, const char *text, char *reason, size_t len)
{
	struct aur_diag_cmd cmd;
	int rc = aur_diag_check(p, text, &cmd, reason, len);

	aur_diag_cmd_release(&cmd);
	return rc;
}

static void test_diag_policy(void)
{
	char err[512];

	CHECK(strstr(diag_policy_error("# c\n\n/bin/echo <arg>\n@timeout 5000\n@max-output 100\n"
				       "@env KUBECONFIG=/etc/k\nls ...\n", err, sizeof(err)), "") != NULL);
	CHECK(!strcmp(err, ""));
	CHECK(strstr(diag_policy_error("ls\nls <file>\n", err, sizeof(err)), "test.conf: line 2: ") == err);
	CHECK(strstr(diag_policy_error("ls ... -l\n", err, sizeof(err)), "line 1: `...` must be the last") != NULL);
	CHECK(strstr(diag_policy_error("\n\nls a|b\n", err, sizeof(err)), "line 3: '|' in `a|b`") != NULL);
	CHECK(strstr(diag_policy_error("bin/ls\n", err, sizeof(err)), "line 1: the program `bin/ls`") != NULL);
	CHECK(strstr(diag_policy_error("/usr/../bin/ls\n", err, sizeof(err)), "line 1:") != NULL);
	CHECK(strstr(diag_policy_error("@timeout 0\n", err, sizeof(err)), "line 1: @timeout wants") != NULL);
	CHECK(strstr(diag_policy_error("@timeout 600001\n", err, sizeof(err)), "line 1:") != NULL);
	CHECK(strstr(diag_policy_error("@max-output 10k\n", err, sizeof(err)), "line 1:") != NULL);
	CHECK(strstr(diag_policy_error("@max-output 1048577\n", err, sizeof(err)), "line 1:") != NULL);
	CHECK(!strcmp(diag_policy_error("@max-output 1048576\n", err, sizeof(err)), ""));
	CHECK(strstr(diag_policy_error("@env LD_PRELOAD=/x.so\n", err, sizeof(err)), "line 1: @env LD_PRELOAD") != NULL);
	CHECK(strstr(diag_policy_error("@env PATH=/tmp\n", err, sizeof(err)), "line 1: @env PATH") != NULL);
	CHECK(strstr(diag_policy_error("@shell /bin/sh\n", err, sizeof(err)), "unknown setting") != NULL);
	CHECK(strstr(diag_policy_error("ls <arg\n", err, sizeof(err)), "'<'") != NULL);

	{
		struct aur_diag_policy *p = diag_policy("@timeout 1234\n@max-output 99\n");
		CHECK(p && aur_diag_policy_timeout_ms(p) == 1234 && aur_diag_policy_max_output(p) == 99);
		aur_diag_policy_free(p);
		p = diag_policy("");
		CHECK(p && aur_diag_policy_timeout_ms(p) == AUR_DIAG_DEFAULT_TIMEOUT_MS &&
		      aur_diag_policy_max_output(p) == AUR_DIAG_DEFAULT_MAX_OUTPUT);
		aur_diag_policy_free(p);
	}
	{
		struct aur_diag_policy *p = NULL;
		CHECK(aur_diag_policy_load("/nonexistent/allow.conf", &p, err, sizeof(err)) == -ENOENT && !p);
		CHECK(strstr(err, "/nonexistent/allow.conf: ") == err);
	}
}

static void test_diag_match(void)
{
	struct aur_diag_policy *p = diag_policy("/bin/echo hello <arg>\n"
						"/bin/echo n <num>\n"
						"/bin/echo tail --tail=<num>\n"
						"/bin/echo rest ...\n"
						"ls -l <arg>   # a comment\n"
						"uname\n");
	struct aur_diag_cmd cmd;
	char why[512];

	CHECK(p != NULL);
	CHECK(aur_diag_check(p, "/bin/echo hello world", &cmd, why, sizeof(why)) == 0);
	CHECK(cmd.argc == 3 && !strcmp(cmd.path, "/bin/echo") && !strcmp(cmd.argv[2], "world") &&
	      cmd.argv[3] == NULL);
	aur_diag_cmd_release(&cmd);
	aur_diag_cmd_release(&cmd); /* twice is harmless */
	CHECK(aur_diag_check(p, "  /bin/echo\thello   a.b:c/d=e@f,g+h%i-j  ", &cmd, why, sizeof(why)) == 0);
	aur_diag_cmd_release(&cmd);
	/* a name is found in the fixed PATH; its absolute path names it too */
	CHECK(aur_diag_check(p, "ls -l /tmp", &cmd, why, sizeof(why)) == 0);
	CHECK(cmd.path && cmd.path[0] == '/' && !strcmp(cmd.argv[0], "ls"));
	{
		char abs[4096];
		snprintf(abs, sizeof(abs), "%s -l /tmp", cmd.path ? cmd.path : "x");
		aur_diag_cmd_release(&cmd);
		CHECK(diag_check(p, abs, why, sizeof(why)) == 0);
	}
	CHECK(diag_check(p, "uname", why, sizeof(why)) == 0);
	CHECK(diag_check(p, "uname -a", why, sizeof(why)) == -EPERM);
	CHECK(strstr(why, "refused: `uname -a` because no rule of the allow-list test.conf permits it") == why);
	/* <arg> is one name: never an option, never a way up, never two words */
	CHECK(diag_check(p, "ls -l -a", why, sizeof(why)) == -EPERM);
	CHECK(diag_check(p, "ls -l ..", why, sizeof(why)) == -EPERM);
	CHECK(diag_check(p, "ls -l ../etc", why, sizeof(why)) == -EPERM);
	CHECK(diag_check(p, "ls -l /var/../etc", why, sizeof(why)) == -EPERM);
	CHECK(diag_check(p, "ls -l", why, sizeof(why)) == -EPERM);
	CHECK(diag_check(p, "/bin/echo hello a b", why, sizeof(why)) == -EPERM);
	CHECK(diag_check(p, "echo hello a", why, sizeof(why)) == -EPERM);
	CHECK(diag_check(p, "/bin/echo n 123456789", why, sizeof(why)) == 0);
	CHECK(diag_check(p, "/bin/echo n 1234567890", why, sizeof(why)) == -EPERM);
	CHECK(diag_check(p, "/bin/echo n 1x", why, sizeof(why)) == -EPERM);
	CHECK(diag_check(p, "/bin/echo tail --tail=50", why, sizeof(why)) == 0);
	CHECK(diag_check(p, "/bin/echo tail --tail=", why, sizeof(why)) == -EPERM);
	CHECK(diag_check(p, "/bin/echo tail --tail=x", why, sizeof(why)) == -EPERM);
	CHECK(diag_check(p, "/bin/echo rest", why, sizeof(why)) == 0);
	CHECK(diag_check(p, "/bin/echo rest -a --b=c d", why, sizeof(why)) == 0);
	CHECK(diag_check(p, "", why, sizeof(why)) == -EINVAL);
	CHECK(diag_check(p, "   ", why, sizeof(why)) == -EINVAL);
	CHECK(diag_check(NULL, "uname", why, sizeof(why)) == -EPERM);
	/* argv as given, checked the same way */
	{
		const char *ok[] = { "/bin/echo", "hello", "x", NULL };
		const char *bad[] = { "/bin/echo", "hello", "x y", NULL };
		CHECK(aur_diag_check_argv(p, 3, ok, &cmd, why, sizeof(why)) == 0);
		aur_diag_cmd_release(&cmd);
		CHECK(aur_diag_check_argv(p, 3, bad, &cmd, why, sizeof(why)) == -EPERM && !cmd.argv);
	}
	aur_diag_policy_free(p);
}

static void test_diag_metachars(void)
{
	static const char *const bad[] = {
		"ls -l /tmp; rm -rf /", "ls -l /tmp | cat", "ls -l /tmp && id", "ls -l $(id)",
		"ls -l `id`", "ls -l /tmp > /tmp/x", "ls -l < /etc/passwd", "ls -l /tmp\nid",
		"ls -l '/tmp'", "ls -l \"/tmp\"", "ls -l /t*", "ls -l /tm?", "ls -l ~",
		"ls -l {a,b}", "ls -l (x)", "ls -l a\\ b", "ls -l !x", "ls -l #x", "ls -l [ab]",
		"ls -l ${HOME}", "ls -l /tmp &", "ls -l \x01", "ls -l caf\xc3\xa9", "ls -l a^b",
		NULL,
	};
	struct aur_diag_policy *p = diag_policy("ls ...\n");
	char why[512];

	for (size_t i = 0; bad[i]; i++) {
		int rc = diag_check(p, bad[i], why, sizeof(why));
		CHECK(rc == -EPERM);
		CHECK(strstr(why, "without a shell") != NULL);
		if (rc != -EPERM)
			printf("FAIL diag metachar allowed: %s\n", bad[i]);
	}
	CHECK(diag_check(p, "ls -l /tmp|cat", why, sizeof(why)) == -EPERM);
	CHECK(strstr(why, "refused: '|' in the command") == why);
	CHECK(diag_check(p, "ls -l /tmp\n", why, sizeof(why)) == -EPERM);
	CHECK(strstr(why, "a newline") != NULL);
	aur_diag_policy_free(p);
}

static void test_diag_deny(void)
{
	/* an allow-list that tries to permit everything below */
	struct aur_diag_policy *p = diag_policy(
		"kubectl ...\naws ...\nvault ...\ngcloud ...\naz ...\ngit ...\nsystemctl ...\n"
		"cat ...\n/bin/cat /etc/shadow\nhead ...\ntail ...\ngrep ...\nless ...\nenv ...\n"
		"printenv\nrm ...\ncurl ...\nbash ...\nsh ...\npython3 ...\n/usr/bin/env ...\n"
		"docker ...\nfind ...\nservice ...\njournalctl ...\nopenssl ...\nip ...\n"
		"sysctl ...\nhelm ...\nwget ...\nsed ...\nxargs ...\n");
	static const char *const denied[] = {
		"kubectl get secret db-pass", "kubectl get secrets -A", "kubectl get Secret/x",
		"kubectl get pods,secrets -o yaml", "kubectl describe secret x",
		"kubectl -n prod get secrets.v1 -o json", "kubectl exec web-1 -- ls",
		"kubectl cp web-1:/etc/x /tmp/x", "kubectl port-forward svc/web 8080:80",
		"kubectl delete pod web-1", "kubectl apply -f x.yaml", "kubectl edit deploy/web",
		"kubectl patch deploy web -p x", "kubectl scale deploy/web --replicas=0",
		"kubectl rollout restart deploy/web", "kubectl rollout undo deploy/web",
		"kubectl get --raw /api/v1/namespaces", "kubectl get pods --as=system:admin",
		"kubectl config view --raw", "kubectl run x --image=busybox",
		"aws secretsmanager get-secret-value --secret-id prod/db",
		"aws ssm get-parameter --name /db/pass --with-decryption",
		"aws ssm get-parameters-by-path --path /prod --with-decryption=true",
		"aws ec2 terminate-instances --instance-ids i-1", "aws configure get x",
		"aws ecr get-login-password", "aws sts assume-role --role-arn x",
		"aws s3 cp s3://b/k /tmp/k", "aws kms decrypt --ciphertext-blob x",
		"vault read secret/db", "vault kv get secret/db", "vault token create",
		"gcloud secrets versions access latest --secret=db",
		"gcloud auth print-access-token", "gcloud compute instances delete vm-1",
		"az keyvault secret show --name x", "az account get-access-token",
		"git push origin main", "git -c core.pager=id log", "git commit -m x",
		"git reset --hard HEAD", "git config --get remote.origin.url",
		"git log --output=/tmp/x", "git grep -O x", "git clean -fdx",
		"systemctl restart nginx", "systemctl stop nginx", "systemctl daemon-reload",
		"systemctl show-environment", "systemctl -H prod status nginx",
		"service nginx restart", "journalctl --vacuum-time=1s", "journalctl --rotate",
		"cat /etc/shadow", "/bin/cat /etc/shadow", "cat /home/u/.ssh/id_rsa",
		"cat /home/u/.ssh/known_hosts", "head -n 5 /etc/ssl/server.key",
		"tail /srv/app/.env", "tail /srv/app/.env.production", "grep x /root/.netrc",
		"less /var/lib/pg/.pgpass", "cat /root/.aws/credentials", "cat /proc/1/environ",
		"cat /srv/tls/cert.pem", "cat /run/secrets/db", "cat terraform.tfstate",
		"cat /var/run/secrets/kubernetes.io/serviceaccount/token",
		"git show HEAD:.env", "grep -r password /etc", "grep -rn x /srv", "grep -R x /srv",
		"grep --recursive x /srv", "env", "printenv", "/usr/bin/env", "env -i id",
		"rm -rf /tmp/x", "bash -c id", "sh -c id", "python3 -c x", "sed -n 1e /dev/null",
		"xargs id", "wget http://example.com/", "curl -X POST http://127.0.0.1/",
		"curl --data=a http://127.0.0.1/", "curl -d a http://127.0.0.1/",
		"curl --data-binary=@/etc/hosts http://x/", "curl -o /tmp/x http://x/",
		"curl -sSo /tmp/x http://x/", "curl file:///etc/hosts", "curl -u a:b http://x/",
		"curl http://169.254.169.254/latest/meta-data/iam/",
		"curl http://metadata.google.internal/computeMetadata/v1/",
		"docker exec web id", "docker run alpine", "docker rm -f web",
		"docker --config=/root/.docker ps", "find / -name x -delete",
		"find / -exec id", "openssl rsa -in /etc/x", "openssl enc -d",
		"ip netns exec x id", "ip link set eth0 down", "sysctl -w vm.swappiness=1",
		"sysctl vm.swappiness=1", "helm get values web", "helm uninstall web",
		"aws lambda get-function-configuration --function-name x",
		"curl --unix-socket /run/docker.sock http://d/containers/json",
		"curl --url=file:///etc/hosts", "kubectl debug node/x -it --image=busybox",
		"kubectl attach web-1", "k3s ctr images ls", "vault", "etcdctl get / --prefix",
		NULL,
	};
	static const char *const not_denied[] = {
		"kubectl get pods -n prod", "kubectl describe pod web-1 -n prod",
		"kubectl logs web-1 -n prod --tail=100", "kubectl -n prod get events",
		"kubectl rollout status deploy/web", "kubectl top pods",
		"aws ec2 describe-instances", "aws logs filter-log-events --log-group-name x",
		"aws s3 ls", "aws --region eu-west-1 cloudwatch get-metric-data",
		"gcloud compute instances list", "git log -5", "git -C /srv/app show abc123",
		"git diff HEAD~1", "systemctl status nginx", "systemctl --failed",
		"systemctl list-units --state=failed", "service nginx status",
		"journalctl -u nginx --since=-1h -n 200", "cat /var/log/nginx/error.log",
		"tail -n 100 /var/log/syslog", "grep -n error /var/log/syslog",
		"curl -sS http://127.0.0.1:8080/health", "curl -I https://example.com/",
		"docker ps -a", "docker logs --tail=50 web", "find /var/log -name x",
		"openssl s_client -connect example.com:443", "ip addr", "ip route show",
		"sysctl vm.swappiness", "helm list -A", "df -h", "du -sh /var/log", "vault status",
		NULL,
	};
	char why[512];

	CHECK(p != NULL);
	for (size_t i = 0; denied[i]; i++) {
		int rc = diag_check(p, denied[i], why, sizeof(why));
		CHECK(rc == -EPERM);
		if (rc != -EPERM)
			printf("FAIL diag deny let through: %s\n", denied[i]);
		else if (!strstr(why, "deny list refuses it whatever the allow-list says"))
			printf("FAIL diag deny reason for %s: %s\n", denied[i], why);
		CHECK(strstr(why, "refused: `") == why);
	}
	for (size_t i = 0; not_denied[i]; i++) {
		const char *argv[AUR_DIAG_MAX_WORDS + 1];
		char copy[512];
		size_t argc = 0;
		char *save = NULL;
		int rc;

		snprintf(copy, sizeof(copy), "%s", not_denied[i]);
		for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
			argv[argc++] = w;
		rc = aur_diag_denied(argc, argv, why, sizeof(why));
		CHECK(rc == 0);
		if (rc != 0)
			printf("FAIL diag deny refused %s: %s\n", not_denied[i], why);
	}
	/* a reason never repeats a secret the command carried */
	CHECK(diag_check(p, "curl -u admin:password=hunter2 http://x/", why, sizeof(why)) == -EPERM);
	CHECK(strstr(why, "hunter2") == NULL && strstr(why, "[redacted]") != NULL);
	aur_diag_policy_free(p);
}

/* a symlink allowed by its own path is denied under the program it is */
static void test_diag_symlink(void)
{
	char dir[] = "/tmp/aurora-diag-XXXXXX";
	char link[128];
	char text[256];
	char why[512];
	struct aur_diag_policy *p;

	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(link, sizeof(link), "%s/look", dir);
	CHECK(symlink("/bin/sh", link) == 0);
	snprintf(text, sizeof(text), "%s ...\n", link);
	p = diag_policy(text);
	snprintf(text, sizeof(text), "%s -c id", link);
	CHECK(diag_check(p, text, why, sizeof(why)) == -EPERM);
	CHECK(strstr(why, "deny list") != NULL);
	aur_diag_policy_free(p);
	unlink(link);
	rmdir(dir);
}

/* 1 when redacting in gives want */
static int redacts_to(const char *in, const char *want)
{
	size_t n = 0;
	unsigned count = 0;
	char *out = aur_diag_redact(in, strlen(in), &n, &count);
	int ok = !strcmp(out, want) && n == strlen(want);

	if (!ok)
		printf("FAIL diag redact:\n  in:   %s\n  got:  %s\n  want: %s\n", in, out, want);
	free(out);
	return ok;
}

static void test_diag_redact(void)
{
	static const char key[] = "a\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAAAA\n"
				  "-----END RSA PRIVATE KEY-----\nb\n";
	static const char cut[] = "x -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1r";
	static const char cert[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
	size_t n = 0;
	unsigned count = 0;
	char *out;

	CHECK(redacts_to("nothing to see", "nothing to see"));
	CHECK(redacts_to("", ""));
	CHECK(redacts_to("password=hunter2 ok", "password=[redacted] ok"));
	CHECK(redacts_to("DB_PASSWORD: s3cr3t!x\n", "DB_PASSWORD: [redacted]\n"));
	CHECK(redacts_to("{\"client_secret\": \"abc\", \"n\": 1}", "{\"client_secret\": \"[redacted]\", \"n\": 1}"));
	CHECK(redacts_to("--token=abcdef x", "--token=[redacted] x"));
	CHECK(redacts_to("Authorization: Bearer abc.def-ghi_jkl\n", "Authorization: [redacted]\n"));
	CHECK(redacts_to("curl -H x Bearer eyJhbGciOi12345", "curl -H x Bearer [redacted]"));
	CHECK(redacts_to("id AKIAIOSFODNN7EXAMPLE end", "id [redacted] end"));
	CHECK(redacts_to("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig_nature-x end",
			 "jwt [redacted] end"));
	CHECK(redacts_to("gh ghp_abcdefghijklmnopqrstuvwxyz0123 end", "gh [redacted] end"));
	CHECK(redacts_to("postgres://app:pa55word@db:5432/x", "postgres://app:[redacted]@db:5432/x"));
	/* Kubernetes env, as -o yaml, -o json and on one line */
	CHECK(redacts_to("    - name: DB_PASSWORD\n      value: hunter2\n    - name: MODE\n      value: fast\n",
			 "    - name: DB_PASSWORD\n      value: [redacted]\n    - name: MODE\n      value: fast\n"));
	CHECK(redacts_to("  {\n    \"name\": \"API_TOKEN\",\n    \"value\": \"abc def\"\n  }\n",
			 "  {\n    \"name\": \"API_TOKEN\",\n    \"value\": \"[redacted]\"\n  }\n"));
	CHECK(redacts_to("{\"name\":\"STRIPE_SECRET\",\"value\":\"sk_live_1\"}",
			 "{\"name\":\"STRIPE_SECRET\",\"value\":\"[redacted]\"}"));
	CHECK(redacts_to(key, "a\n[redacted]\nb\n"));
	CHECK(redacts_to(cut, "[redacted]"));
	CHECK(redacts_to(cert, cert));
	/* a mangled header: the body above the END line goes with it (the fuzzer's find) */
	CHECK(redacts_to("x\n-----BEGIN RSA PRIVATE KEY--\nMIIE\n-----END RSA PRIVATE KEY-----\ny\n",
			 "x\n[redacted]\ny\n"));
	CHECK(redacts_to("x\nBEGIN KEY\nMIIEow==\nAAAA\n-----END PRIVATE KEY-----\ny\n",
			 "x\nBEGIN KEY\n[redacted]\ny\n"));
	CHECK(redacts_to("loading PRIVATE KEY from disk\nok\n", "[redacted]\nok\n"));
	CHECK(redacts_to("signing key: Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MEFCQ0RFRkdISUpLTE1O\n",
			 "signing key: [redacted]\n"));
	/* runs that only look long are kept: paths, words, a commit on its own line */
	CHECK(redacts_to("commit 3f2a9c1e5b7d4f6a8c0e2b4d6f8a0c2e4b6d8f0a\n",
			 "commit 3f2a9c1e5b7d4f6a8c0e2b4d6f8a0c2e4b6d8f0a\n"));
	CHECK(redacts_to("key path /var/lib/kubelet/pods/abcdefghijklmnopqrstuvwxyz/volumes\n",
			 "key path /var/lib/kubelet/pods/abcdefghijklmnopqrstuvwxyz/volumes\n"));
	/* NUL bytes become spaces; the count is of secrets replaced */
	out = aur_diag_redact("a\0b password=x token=y", 22, &n, &count);
	CHECK(!strcmp(out, "a b password=[redacted] token=[redacted]") && count == 2 &&
	      n == strlen(out));
	free(out);
	/* redacting twice changes nothing more */
	out = aur_diag_redact("password=[redacted]", 19, &n, &count);
	CHECK(!strcmp(out, "password=[redacted]") && count == 0);
	free(out);
}

static void test_diag_run(void)
{
	struct aur_diag_policy *p = diag_policy("/bin/echo ...\n@timeout 5000\n");
	struct aur_diag_result res;
	struct aur_diag_cmd cmd;
	char why[512];
	char err[256] = "";
	char line[256];

	CHECK(aur_diag_check(p, "/bin/echo hello api_key=hunter2", &cmd, why, sizeof(why)) == 0);
	CHECK(aur_diag_run(p, &cmd, 0, 0, &res, err, sizeof(err)) == 0);
	CHECK(res.output && !strcmp(res.output, "hello api_key=[redacted]\n"));
	CHECK(res.exited && res.exit_code == 0 && !res.timed_out && !res.truncated && res.reaped);
	CHECK(res.redactions == 1);
	CHECK(!strcmp(aur_diag_result_describe(&res, line, sizeof(line)), "exit 0"));
	aur_diag_result_release(&res);
	/* the cap keeps the first bytes and counts the rest */
	CHECK(aur_diag_run(p, &cmd, 0, 5, &res, err, sizeof(err)) == 0);
	CHECK(res.output && !strcmp(res.output, "hello") && res.truncated && res.discarded == 17);
	CHECK(!strcmp(aur_diag_result_describe(&res, line, sizeof(line)),
		      "exit 0, output cut at 5 bytes (17 more discarded)"));
	aur_diag_result_release(&res);
	CHECK(aur_diag_run(p, &cmd, -1, 0, &res, err, sizeof(err)) == -EINVAL);
	aur_diag_result_release(&res);
	aur_diag_cmd_release(&cmd);
	/* check and run in one call, as a tool call does */
	CHECK(aur_diag_run_text(p, "/bin/echo one  two", &res, why, sizeof(why)) == 0);
	CHECK(res.output && !strcmp(res.output, "one two\n") && res.exited && res.exit_code == 0);
	aur_diag_result_release(&res);
	CHECK(aur_diag_run_text(p, "/bin/echo x;id", &res, why, sizeof(why)) == -EPERM);
	CHECK(res.output == NULL && strstr(why, "refused: ';'") == why);
	aur_diag_policy_free(p);
}

/*
 * unit-tests diag-run ALLOWFILE TIMEOUT_MS MAX_OUTPUT COMMAND: check and run
 * one command as an investigator would, for tests/diag.bats. Prints one
 * JSON object: the result, or {"refused": reason} (exit 1); exit 78 when the
 * allow-list does not load.
 */

static const char catalog_yaml[] =
	"apiVersion: backstage.io/v1alpha1\n"
	"kind: Component\n"
	"metadata:\n"
	"  name: checkout-service\n"
	"  namespace: shop\n"
	"  title: Checkout Service\n"
	"  aliases: [\"svc:checkout-prod\", checkout-api (prod)]\n"
	"  annotations:\n"
	"    pagerduty.com/service-id: PCHK001\n"
	"    datadoghq.com/service-name: checkout\n"
	"    dynatrace.com/dynatrace-entity-id: SERVICE-1A2B3C\n"
	"    backstage.io/kubernetes-label-selector: 'tier=web,app=checkout-api'\n"
	"    grafana/alert-label-selector: service=checkout\n"
	"spec:\n"
	"  type: service\n"
	"  dependsOn: ['resource:default/payments-db', 'component:shop/cart']\n"
	"---\n"
	"kind: Resource\n"
	"metadata: {name: payments-db, title: Payments Database}\n"
	"spec:\n"
	"  dependencyOf: [component:billing]\n"
	"---\n"
	"kind: Group\n"
	"metadata: {name: team-shop}\n"
	"---\n"
	"kind: System\n"
	"metadata: {name: checkout-service}\n"
	"---\n"
	"kind: Component\n"
	"metadata:\n"
	"  name: cart\n"
	"  annotations: {backstage.io/kubernetes-id: cart-k8s}\n";

static void test_catalog_backstage(void)
{
	struct aur_catalog *c = NULL;
	const char *deps[4] = { NULL };
	char err[512] = "";

	CHECK(aur_catalog_parse(&c, "catalog-info.yaml", catalog_yaml, strlen(catalog_yaml), AUR_CATALOG_BACKSTAGE,
				err, sizeof(err)) == 0);
	if (!c) {
		printf("FAIL catalog: %s\n", err);
		failed++;
		return;
	}
	/* checkout-service (a Component and a System), payments-db, cart; billing named only */
	CHECK(aur_catalog_size(c) == 4);
	CHECK(aur_catalog_name(c, 4) == NULL);
	CHECK(strcmp(aur_catalog_name(c, 3), "billing") == 0);
	/* as sent, by title, by alias, through the service key, by entity reference */
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_ANY, "checkout-service"), "checkout-service") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_ANY, "CHECKOUT-SERVICE"), "checkout-service") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_ANY, "Checkout Service"), "checkout-service") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_ANY, "checkout_service"), "checkout-service") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_ANY, "checkout"), "checkout-service") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_ANY, "Checkout"), "checkout-service") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_ANY, "svc:checkout-prod"), "checkout-service") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_ANY, " checkout-api (prod) "), "checkout-service") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_ANY, "payments database"), "payments-db") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_ANY, "component:shop/cart"), "cart") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_ANY, "billing"), "billing") == 0);
	CHECK(aur_catalog_resolve(c, AUR_CATALOG_ANY, "checkout-db") == NULL);
	CHECK(aur_catalog_resolve(c, AUR_CATALOG_ANY, "payments") == NULL);
	CHECK(aur_catalog_resolve(c, AUR_CATALOG_ANY, "") == NULL);
	CHECK(aur_catalog_resolve(c, AUR_CATALOG_ANY, NULL) == NULL);
	CHECK(aur_catalog_resolve(c, AUR_CATALOG_ANY, "team-shop") == NULL);
	/* tool identities: only for their tool, and a tool falls back to names */
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_PAGERDUTY, "PCHK001"), "checkout-service") == 0);
	CHECK(aur_catalog_resolve(c, AUR_CATALOG_ANY, "PCHK001") == NULL);
	CHECK(aur_catalog_resolve(c, AUR_CATALOG_DATADOG, "PCHK001") == NULL);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_DATADOG, "checkout"), "checkout-service") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_DYNATRACE, "SERVICE-1A2B3C"), "checkout-service") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_KUBERNETES, "checkout-api"), "checkout-service") == 0);
	CHECK(aur_catalog_resolve(c, AUR_CATALOG_KUBERNETES, "web") == NULL);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_KUBERNETES, "cart-k8s"), "cart") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_GRAFANA, "checkout"), "checkout-service") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_GRAFANA, "cart"), "cart") == 0);
	CHECK(aur_catalog_resolve(c, AUR_CATALOG_TOOL_COUNT, "cart") == NULL);
	/* dependencies: spec.dependsOn, and spec.dependencyOf turned around */
	CHECK(aur_catalog_depends(c, "checkout-service", "payments-db") == 1);
	CHECK(aur_catalog_depends(c, "Checkout Service", "resource:payments-db") == 1);
	CHECK(aur_catalog_depends(c, "checkout-service", "cart") == 1);
	CHECK(aur_catalog_depends(c, "payments-db", "checkout-service") == 0);
	CHECK(aur_catalog_depends(c, "billing", "payments-db") == 1);
	CHECK(aur_catalog_depends(c, "checkout-service", "billing") == 0);
	CHECK(aur_catalog_depends(c, "checkout-service", "nothing") == 0);
	CHECK(aur_catalog_dependencies(c, "checkout", deps, 4) == 2);
	CHECK(deps[0] && strcmp(deps[0], "payments-db") == 0);
	CHECK(deps[1] && strcmp(deps[1], "cart") == 0);
	CHECK(aur_catalog_dependencies(c, "checkout", deps, 1) == 2);
	CHECK(aur_catalog_dependencies(c, "cart", deps, 4) == 0);
	CHECK(aur_catalog_dependencies(c, "nothing", deps, 4) == 0);
	CHECK(aur_catalog_note(c, 0) == NULL);
	aur_catalog_free(c);
	/* no catalog: nothing known */
	CHECK(aur_catalog_resolve(NULL, AUR_CATALOG_ANY, "checkout") == NULL);
	CHECK(aur_catalog_depends(NULL, "a", "b") == 0);
	CHECK(aur_catalog_dependencies(NULL, "a", deps, 4) == 0);
	CHECK(aur_catalog_size(NULL) == 0);
	aur_catalog_free(NULL);
}

static const char catalog_aliases[] =
	"# services without Backstage\n"
	"checkout: Checkout Service, svc:checkout-prod   # Datadog's tag\n"
	"checkout-api: Checkout API Gateway\n"
	"checkout -> payments-db, redis\n"
	"checkout-api->checkout\n"
	"checkout pagerduty: PCHK001\n"
	"search pagerduty: PSHARED\n"
	"catalog pagerduty: PSHARED\n"
	"search: Product Search\n"
	"catalog: Product Catalog\n"
	"\n"
	"payments-db: Payments Database\n";

static void test_catalog_aliases(void)
{
	struct aur_catalog *c = NULL;
	const char *deps[4] = { NULL };
	char err[512] = "";

	CHECK(aur_catalog_parse(&c, "services.aliases", catalog_aliases, strlen(catalog_aliases),
				AUR_CATALOG_ALIASES, err, sizeof(err)) == 0);
	if (!c) {
		printf("FAIL catalog aliases: %s\n", err);
		failed++;
		return;
	}
	CHECK(aur_catalog_size(c) == 6); /* five described, redis named */
	/* checkout and checkout-api share the key "checkout": its owner is the one named so */
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_ANY, "Checkout"), "checkout") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_ANY, "checkout-svc"), "checkout") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_ANY, "Checkout API"), "checkout-api") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_ANY, "checkout_api"), "checkout-api") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_ANY, "svc:checkout-prod"), "checkout") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_ANY, "REDIS"), "redis") == 0);
	CHECK(aur_catalog_resolve(c, AUR_CATALOG_ANY, "checkout-db") == NULL);
	/* a PagerDuty service shared by two components finds neither, and says so */
	CHECK(aur_catalog_resolve(c, AUR_CATALOG_PAGERDUTY, "PSHARED") == NULL);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_PAGERDUTY, "PCHK001"), "checkout") == 0);
	CHECK(strcmp(aur_catalog_resolve(c, AUR_CATALOG_PAGERDUTY, "product search"), "search") == 0);
	CHECK(aur_catalog_note(c, 0) != NULL && strstr(aur_catalog_note(c, 0), "PSHARED") != NULL);
	CHECK(aur_catalog_depends(c, "checkout", "payments database") == 1);
	CHECK(aur_catalog_depends(c, "checkout", "redis") == 1);
	CHECK(aur_catalog_depends(c, "Checkout API Gateway", "checkout") == 1);
	CHECK(aur_catalog_depends(c, "checkout", "checkout-api") == 0);
	CHECK(aur_catalog_dependencies(c, "checkout", deps, 4) == 2);
	aur_catalog_free(c);
	/* a dependency found by title; never through the key (web-api is not web) */
	{
		static const char yaml[] = "kind: Resource\nmetadata: {name: payments-db, title: Payments Database}\n"
					   "---\nkind: Component\nmetadata: {name: web}\n"
					   "spec: {dependsOn: [payments_database, web-api, Web]}\n";

		c = NULL;
		CHECK(aur_catalog_parse(&c, "d.yaml", yaml, strlen(yaml), AUR_CATALOG_BACKSTAGE, err, sizeof(err)) == 0);
		CHECK(aur_catalog_size(c) == 3);
		CHECK(aur_catalog_depends(c, "web", "payments-db") == 1);
		CHECK(aur_catalog_dependencies(c, "web", deps, 4) == 2);
		CHECK(aur_catalog_depends(c, "web", "web-api") == 1);
		CHECK(aur_catalog_depends(c, "web", "web") == 0);
		CHECK(aur_catalog_name(c, 2) && strcmp(aur_catalog_name(c, 2), "web-api") == 0);
		/* the key "web" is web's: the one named only cannot take it */
		CHECK(aur_catalog_resolve(c, AUR_CATALOG_ANY, "Web Service") &&
		      strcmp(aur_catalog_resolve(c, AUR_CATALOG_ANY, "Web Service"), "web") == 0);
		aur_catalog_free(c);
	}
}

/* 0 when text fails to load with code want and a message holding both needles */
static int catalog_refused(const char *text, enum aur_catalog_format f, int want, const char *n1, const char *n2)
{
	struct aur_catalog *c = NULL;
	char err[512] = "";
	int rc = aur_catalog_parse(&c, "cat.yaml", text, strlen(text), f, err, sizeof(err));

	aur_catalog_free(c);
	if (rc == want && c == NULL && strstr(err, n1) && strstr(err, n2))
		return 0;
	printf("catalog: rc %d (want %d), '%s'\n", rc, want, err);
	return -1;
}

static void test_catalog_refused(void)
{
	char deep[400];
	char *big;
	size_t n = 0;

	/* an alias two components claim, an alias that is another's name */
	CHECK(catalog_refused("a: web\nb: web\n", AUR_CATALOG_ALIASES, -EINVAL, "'web'", "ambiguous") == 0);
	CHECK(catalog_refused("a: b\nb: x\n", AUR_CATALOG_ALIASES, -EINVAL, "cat.yaml:1", "name of b") == 0);
	CHECK(catalog_refused("kind: Component\nmetadata: {name: a, aliases: [Web]}\n---\n"
			      "kind: Component\nmetadata: {name: b, aliases: [web]}\n",
			      AUR_CATALOG_BACKSTAGE, -EINVAL, "'web'", "ambiguous") == 0);
	/* one kind twice under one name (two namespaces) */
	CHECK(catalog_refused("kind: Component\nmetadata: {name: a, namespace: x}\n---\n"
			      "kind: Component\nmetadata: {name: a, namespace: y}\n",
			      AUR_CATALOG_BACKSTAGE, -EINVAL, "cat.yaml:5", "described twice (first at cat.yaml:2)") == 0);
	/* YAML that does not parse: file and line */
	CHECK(catalog_refused("kind: Component\nmetadata:\n  name: [a\n  title: b\n", AUR_CATALOG_BACKSTAGE,
			      -EINVAL, "cat.yaml:", "flow sequence") == 0);
	CHECK(catalog_refused("kind: Component\nmetadata:\n  name: a\n\tbad: tab\n", AUR_CATALOG_BACKSTAGE,
			      -EINVAL, "cat.yaml:4:", "") == 0);
	CHECK(catalog_refused("kind: Component\n", AUR_CATALOG_BACKSTAGE, -EINVAL, "cat.yaml:1", "metadata") == 0);
	CHECK(catalog_refused("kind: Component\nmetadata: {title: x}\n", AUR_CATALOG_BACKSTAGE, -EINVAL,
			      "cat.yaml:2", "metadata.name") == 0);
	CHECK(catalog_refused("kind: API\nmetadata: {name: a}\nspec: {dependsOn: {x: 1}}\n",
			      AUR_CATALOG_BACKSTAGE, -EINVAL, "cat.yaml:3", "spec.dependsOn") == 0);
	CHECK(catalog_refused("- a\n- b\n", AUR_CATALOG_BACKSTAGE, -EINVAL, "cat.yaml:1", "mapping") == 0);
	CHECK(catalog_refused("kind: Component\nmetadata: {name: \"a\\0b\"}\n", AUR_CATALOG_BACKSTAGE, -EINVAL,
			      "cat.yaml:2", "control character") == 0);
	/* names are UTF-8: records carry them as JSON strings */
	{
		struct aur_catalog *c = NULL;
		static const char utf8[] = "payments-db: caf\xc3\xa9 \xf0\x9f\x98\x80, x\n";
		char err[256] = "";

		CHECK(aur_catalog_parse(&c, "u", utf8, strlen(utf8), AUR_CATALOG_ALIASES, err, sizeof(err)) == 0);
		CHECK(c && strcmp(aur_catalog_resolve(c, AUR_CATALOG_ANY, "CAF\xc3\xa9 \xf0\x9f\x98\x80"),
				  "payments-db") == 0);
		aur_catalog_free(c);
	}
	CHECK(catalog_refused("payments-db -> redis\xb6\n", AUR_CATALOG_ALIASES, -EINVAL, "cat.yaml:1",
			      "not UTF-8") == 0);
	CHECK(catalog_refused("a: \xe0\x80\xaf\n", AUR_CATALOG_ALIASES, -EINVAL, "cat.yaml:1", "not UTF-8") == 0);
	CHECK(catalog_refused("a: \xed\xa0\x80\n", AUR_CATALOG_ALIASES, -EINVAL, "cat.yaml:1", "not UTF-8") == 0);
	CHECK(catalog_refused("a: \xf0\x9f\x98\x80 \xc3\n", AUR_CATALOG_ALIASES, -EINVAL, "cat.yaml:1",
			      "not UTF-8") == 0);
	/* past the limits */
	while (n < 100)
		deep[n++] = '[';
	deep[n] = '\0';
	CHECK(catalog_refused(deep, AUR_CATALOG_BACKSTAGE, -E2BIG, "cat.yaml:1", "deeper than 64") == 0);
	big = malloc(600);
	if (big) {
		memcpy(big, "a: ", 3);
		memset(big + 3, 'x', 300);
		big[303] = '\0';
		CHECK(catalog_refused(big, AUR_CATALOG_ALIASES, -E2BIG, "cat.yaml:1", "longer than 253") == 0);
		free(big);
	}
	/* aliases lines that are not one */
	CHECK(catalog_refused("Checkout Service: checkout\n", AUR_CATALOG_ALIASES, -EINVAL, "cat.yaml:1",
			      "a name holds no blanks") == 0);
	CHECK(catalog_refused("# ok\n\ncheckout pager: P1\n", AUR_CATALOG_ALIASES, -EINVAL, "cat.yaml:3",
			      "'pager' is not a tool") == 0);
	CHECK(catalog_refused("checkout pagerduty -> x\n", AUR_CATALOG_ALIASES, -EINVAL, "cat.yaml:1",
			      "expected") == 0);
	CHECK(catalog_refused(": x\n", AUR_CATALOG_ALIASES, -EINVAL, "cat.yaml:1", "expected a name") == 0);
}

static int diag_run_main(int argc, char **argv)
{
	struct aur_diag_policy *p = NULL;
	struct aur_diag_result res;
	struct aur_diag_cmd cmd;
	char err[512] = "";
	char why[1024] = "";
	char line[256];
	jv o;
	jv s;
	int rc;

	if (argc != 6) {
		fprintf(stderr, "usage: unit-tests diag-run ALLOWFILE TIMEOUT_MS MAX_OUTPUT COMMAND\n");
		return 2;
	}
	if (aur_diag_policy_load(argv[2], &p, err, sizeof(err)) < 0) {
		fprintf(stderr, "unit-tests: %s\n", err);
		return 78;
	}
	if (aur_diag_check(p, argv[5], &cmd, why, sizeof(why)) < 0) {
		o = jv_object_set(jv_object(), jv_string("refused"), jv_string(why));
		rc = 1;
		goto print;
	}
	rc = aur_diag_run(p, &cmd, (int)strtol(argv[3], NULL, 10), (size_t)strtoul(argv[4], NULL, 10),
			  &res, err, sizeof(err));
	aur_diag_cmd_release(&cmd);
	if (rc < 0) {
		fprintf(stderr, "unit-tests: %s\n", err);
		aur_diag_policy_free(p);
		return 70;
	}
	o = jv_object();
	o = jv_object_set(o, jv_string("output"), jv_string_sized(res.output, (int)res.output_len));
	o = jv_object_set(o, jv_string("truncated"), jv_bool(res.truncated));
	o = jv_object_set(o, jv_string("discarded"), jv_number((double)res.discarded));
	o = jv_object_set(o, jv_string("exit_code"), res.exited ? jv_number(res.exit_code) : jv_null());
	o = jv_object_set(o, jv_string("signal"), jv_number(res.signal));
	o = jv_object_set(o, jv_string("timed_out"), jv_bool(res.timed_out));
	o = jv_object_set(o, jv_string("reaped"), jv_bool(res.reaped));
	o = jv_object_set(o, jv_string("elapsed_ms"), jv_number((double)res.elapsed_ms));
	o = jv_object_set(o, jv_string("redactions"), jv_number(res.redactions));
	o = jv_object_set(o, jv_string("describe"),
			  jv_string(aur_diag_result_describe(&res, line, sizeof(line))));
	aur_diag_result_release(&res);
	rc = 0;
print:
	s = jv_dump_string(o, 0);
	printf("%s\n", jv_string_value(s));
	jv_free(s);
	aur_diag_policy_free(p);
	return rc;
}

/* The postmortem's facts fit their cap however big the incident; a model's answer is checked. */
static void test_postmortem(void)
{
	char why[256];
	char *big = malloc(100000);
	jv inc = jv_parse("{\"id\": 7, \"title\": \"t\", \"status\": \"analyzed\", \"summary\": \"\", \"vector\": \"x\","
			  " \"root_cause\": {\"entity\": \"db\", \"kind\": \"dependency\", \"evidence\": []}}");
	jv alerts = jv_array();
	jv facts;
	jv s;

	memset(big, 'a', 99999);
	big[99999] = '\0';
	big[10] = '\xc3'; /* a two-byte character that a cut must not split */
	big[11] = '\xa9';
	for (int i = 0; i < 500; i++)
		alerts = jv_array_append(alerts, jv_object_set(jv_object_set(jv_object(), jv_string("title"),
									     jv_string(big)),
							       jv_string("record"), jv_string("dropped")));
	inc = jv_object_set(inc, jv_string("alerts"), alerts);
	facts = aur_postmortem_facts(inc, 48 * 1024);
	s = jv_dump_string(jv_copy(facts), 0);
	CHECK(jv_string_length_bytes(jv_copy(s)) <= 48 * 1024);
	jv_free(s);
	s = jv_object_get(jv_copy(facts), jv_string("id"));
	CHECK(jv_get_kind(s) == JV_KIND_NUMBER && jv_number_value(s) == 7);
	jv_free(s);
	CHECK(!jv_object_has(jv_copy(facts), jv_string("summary")) && !jv_object_has(jv_copy(facts), jv_string("vector")));
	s = jv_getpath(jv_copy(facts), jv_parse("[\"root_cause\", \"entity\"]"));
	CHECK(jv_get_kind(s) == JV_KIND_STRING && !strcmp(jv_string_value(s), "db"));
	jv_free(s);
	s = jv_getpath(jv_copy(facts), jv_parse("[\"alerts\", 0]"));
	CHECK(jv_get_kind(s) == JV_KIND_OBJECT && !jv_object_has(jv_copy(s), jv_string("record")));
	jv_free(s);
	s = jv_getpath(jv_copy(facts), jv_parse("[\"alerts\", -1]")); /* the note of how many were left out */
	CHECK(jv_get_kind(s) == JV_KIND_STRING && strstr(jv_string_value(s), "more left out"));
	jv_free(s);
	jv_free(facts);
	/* a tiny cap: still an object naming the incident */
	facts = aur_postmortem_facts(inc, 10);
	CHECK(jv_get_kind(facts) == JV_KIND_OBJECT && jv_object_has(jv_copy(facts), jv_string("note")));
	jv_free(facts);
	jv_free(inc);

	CHECK(aur_postmortem_check("# Postmortem\n\ntext\n", why, sizeof(why)) == 0);
	CHECK(aur_postmortem_check("intro\n## Summary\n", why, sizeof(why)) == 0);
	CHECK(aur_postmortem_check(" \n\t\n", why, sizeof(why)) == -EPROTO && strstr(why, "empty"));
	CHECK(aur_postmortem_check("no heading\n#hashtag\n#\n", why, sizeof(why)) == -EPROTO &&
	      strstr(why, "heading"));
	CHECK(aur_postmortem_check("# ok\n\xff\n", why, sizeof(why)) == -EPROTO && strstr(why, "UTF-8"));
	CHECK(aur_postmortem_check("# ok\n\xed\xa0\x80\n", why, sizeof(why)) == -EPROTO); /* a surrogate */
	CHECK(aur_postmortem_check("# ok\n\xc0\xaf\n", why, sizeof(why)) == -EPROTO);     /* overlong */
	CHECK(aur_postmortem_check("# caf\xc3\xa9 \xf0\x9f\x94\xa5\n", why, sizeof(why)) == 0);
	memset(big, '#', 2);
	big[2] = ' ';
	big = realloc(big, AUR_POSTMORTEM_ANSWER_MAX + 2);
	memset(big + 3, 'b', AUR_POSTMORTEM_ANSWER_MAX - 2);
	big[AUR_POSTMORTEM_ANSWER_MAX + 1] = '\0';
	CHECK(aur_postmortem_check(big, why, sizeof(why)) == -EPROTO && strstr(why, "longer"));
	free(big);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "llm-chat") == 0)
		return llm_chat_main(argv[2]);
	if (argc > 1 && !strcmp(argv[1], "diag-run"))
		return diag_run_main(argc, argv);
	test_time();
	test_sha256_vectors();
	test_hmac_rfc4231();
	test_sha256_vs_libcrypto();
	test_hmac();
	test_basic();
	test_random_wipe();
	test_buf();
	test_form();
	test_form_type();
	test_jsonl_reader();
	test_jsonl_long_lines();
	test_jsonl_writer();
	test_jvio_parse_at();
	test_record_time();
	test_recent();
	test_framing();
	test_llm();
	test_diag_policy();
	test_diag_match();
	test_diag_metachars();
	test_diag_deny();
	test_diag_symlink();
	test_diag_redact();
	test_diag_run();
	test_postmortem();
	test_catalog_backstage();
	test_catalog_aliases();
	test_catalog_refused();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
