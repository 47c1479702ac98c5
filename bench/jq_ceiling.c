/*
 * jq_ceiling - the most a program can get out of libjq with aurora's
 * mappings: read a line, parse it, run the platform's compiled program,
 * print each output. Nothing else: no checks, no timestamps, no
 * fingerprint, no rejection handling.
 *
 *   jq_ceiling [--jvio] MAPPINGDIR CONFIG < raw.jsonl > out.jsonl
 *
 * MAPPINGDIR holds <platform>.jq (lib/mappings); CONFIG is the JSON bound
 * to $config, as aurora-normalize binds it. By default the parse and print
 * are libjq's own (jv_parse_sized, jv_dump_string): that is libjq's
 * ceiling. --jvio parses and prints with lib/jvio instead, which leaves
 * the cost of running the programs alone.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "jvio.h"
#include "banned.h"

struct prog {
	char name[64];
	jq_state *jq;
};

static struct prog progs[64];
static int nprogs;

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0, cap = 0, got;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			text = realloc(text, cap);
			if (!text)
				exit(70);
		}
		got = fread(text + len, 1, cap - len - 1, f);
		len += got;
	} while (got > 0);
	text[len] = '\0';
	fclose(f);
	return text;
}

static int load(const char *dir, jv config)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return -1;
	while ((e = readdir(d)) && nprogs < 64) {
		size_t len = strlen(e->d_name);
		char path[4096];
		char *text;
		jv args;

		if (len <= 3 || strcmp(e->d_name + len - 3, ".jq") || len - 3 >= sizeof(progs[0].name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		text = slurp(path);
		if (!text)
			return -1;
		memcpy(progs[nprogs].name, e->d_name, len - 3);
		progs[nprogs].name[len - 3] = '\0';
		progs[nprogs].jq = jq_init();
		args = jv_array_append(jv_array(),
				       jv_object_set(jv_object_set(jv_object(), jv_string("name"), jv_string("config")),
						     jv_string("value"), jv_copy(config)));
		if (!jq_compile_args(progs[nprogs].jq, text, args)) {
			fprintf(stderr, "jq_ceiling: %s does not compile\n", path);
			return -1;
		}
		free(text);
		nprogs++;
	}
	closedir(d);
	return 0;
}

int main(int argc, char **argv)
{
	int fast = argc > 1 && !strcmp(argv[1], "--jvio");
	char *line = NULL, err[256];
	size_t cap = 0;
	ssize_t n;
	jv config, platform = jv_string("platform");
	struct aur_buf b;
	unsigned long records = 0;

	if (argc - fast != 3) {
		fprintf(stderr, "usage: jq_ceiling [--jvio] MAPPINGDIR CONFIG\n");
		return 2;
	}
	config = jv_parse(argv[2 + fast]);
	if (!jv_is_valid(config) || load(argv[1 + fast], config) < 0) {
		fprintf(stderr, "jq_ceiling: bad config or mappings\n");
		return 1;
	}
	aur_buf_init(&b, 0);
	while ((n = getline(&line, &cap, stdin)) > 0) {
		jv raw, p;
		struct prog *pr = NULL;

		if (fast) {
			if (aur_jvio_parse(line, (size_t)n, &raw, err, sizeof(err)) < 0)
				continue;
		} else {
			raw = jv_parse_sized(line, (int)n);
			if (!jv_is_valid(raw)) {
				jv_free(raw);
				continue;
			}
		}
		p = jv_object_get(jv_copy(raw), jv_copy(platform));
		for (int i = 0; jv_get_kind(p) == JV_KIND_STRING && i < nprogs; i++)
			if (!strcmp(progs[i].name, jv_string_value(p)))
				pr = &progs[i];
		jv_free(p);
		if (!pr) {
			jv_free(raw);
			continue;
		}
		jq_start(pr->jq, raw, 0);
		for (;;) {
			jv r = jq_next(pr->jq);

			if (!jv_is_valid(r)) {
				jv_free(r);
				break;
			}
			records++;
			if (fast) {
				aur_buf_reset(&b);
				aur_jvio_dump(r, &b);
				aur_buf_add(&b, "\n", 1);
				fwrite(b.data, 1, b.len, stdout);
				jv_free(r);
			} else {
				jv s = jv_dump_string(r, 0);

				fwrite(jv_string_value(s), 1, (size_t)jv_string_length_bytes(jv_copy(s)), stdout);
				putchar('\n');
				jv_free(s);
			}
		}
	}
	fprintf(stderr, "jq_ceiling: %lu records\n", records);
	for (int i = 0; i < nprogs; i++)
		jq_teardown(&progs[i].jq);
	jv_free(config);
	jv_free(platform);
	aur_buf_release(&b);
	free(line);
	return fflush(stdout) == 0 ? 0 : 74;
}
