/*
 * diag_fuzz - libFuzzer target for lib/diag.c: the allow-list parser, the
 * command check and redaction, on hostile text.
 *
 * The first byte picks the part; the rest is the text:
 *   0: an allow-list. It loads or fails with "NAME: line N: ...".
 *   1: a command, checked against an allow-list that permits nearly
 *      anything (`P ...` for the programs the deny list has rules for).
 *      When it is allowed, every word of it holds only the safe characters
 *      and the deny list alone passes it too; refused, the reason starts
 *      with "refused: ".
 *   2: command output. What redaction returns has the length it says and
 *      no "PRIVATE KEY" left in it (every line that says it goes).
 * Built and run by scripts/fuzz (make fuzz).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char permissive[] =
	"kubectl ...\naws ...\ngit ...\nsystemctl ...\ncat ...\ngrep ...\ncurl ...\n"
	"ls ...\nhead ...\ndocker ...\nfind ...\nopenssl ...\nip ...\nsysctl ...\n"
	"journalctl ...\nsed ...\nenv ...\n";

static void fail(const char *what)
{
	fprintf(stderr, "diag_fuzz: %s\n", what);
	abort();
}

static int safe_word(const char *w)
{
	for (; *w; w++)
		if (!((*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z') || (*w >= '0' && *w <= '9') ||
		      strchr("._:/=@,+%-", *w)))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aur_diag_policy *p = NULL;
	struct aur_diag_cmd cmd;
	char err[512];
	char why[1024];
	char *text;
	char *r;
	size_t n;
	unsigned count;

	if (size < 1)
		return 0;
	text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		if (aur_diag_policy_parse(text, "fuzz.conf", &p, err, sizeof(err)) < 0 &&
		    strncmp(err, "fuzz.conf: line ", 16) != 0)
			fail("a parse error without its line");
		aur_diag_policy_free(p);
		break;
	case 1:
		if (aur_diag_policy_parse(permissive, "fuzz.conf", &p, err, sizeof(err)) < 0)
			fail("the permissive allow-list does not load");
		if (aur_diag_check(p, text, &cmd, why, sizeof(why)) == 0) {
			for (size_t i = 0; i < cmd.argc; i++)
				if (!safe_word(cmd.argv[i]) || !cmd.argv[i][0])
					fail("an allowed word holds an unsafe character");
			if (aur_diag_denied(cmd.argc, (const char *const *)cmd.argv, why, sizeof(why)) != 0)
				fail("allowed, yet the deny list refuses it");
		} else if (strncmp(why, "refused: ", 9) != 0) {
			fail("a refusal without its reason");
		}
		aur_diag_cmd_release(&cmd);
		aur_diag_policy_free(p);
		break;
	default:
		r = aur_diag_redact((const char *)data + 1, size - 1, &n, &count);
		if (strlen(r) != n)
			fail("the length is wrong");
		if (strstr(r, "PRIVATE KEY"))
			fail("a private key line survived");
		free(r);
		break;
	}
	free(text);
	return 0;
}
