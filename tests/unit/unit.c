/*
 * unit.c - unit tests for lib/ modules whose behaviour is clearer tested
 * directly than through a command: time parsing, SHA-256 and HMAC (against
 * the published vectors and against libcrypto, which only this binary
 * links), token checks, bounded buffers, form decoding, the recent
 * deliveries' table (its probing and eviction), the HTTP framing policy's
 * edges (paths, lists of transfer codings). Run by
 * tests/unit.bats; prints one line per failed check and "N passed,
 * N failed" at the end.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "auth.h"
#include "buf.h"
#include "http_parse.h"
#include "inbox.h"
#include "recent.h"
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
	aur_wipe(secret, sizeof(secret));
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

int main(void)
{
	test_time();
	test_sha256_vectors();
	test_hmac_rfc4231();
	test_sha256_vs_libcrypto();
	test_hmac();
	test_basic();
	test_random_wipe();
	test_buf();
	test_form();
	test_recent();
	test_framing();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
