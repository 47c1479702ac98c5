/*
 * catalog_read.c - the catalog's readers (catalog.h): the aliases file,
 * directories of catalog files, and what the readers share (trimming,
 * lines, comma-separated lists). Backstage YAML is read by catalog_yaml.c.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "catalog_impl.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_DIR_DEPTH 16
#define MAX_FILES 10000
#define MAX_TOTAL ((size_t)64 * 1024 * 1024)

const char *cat_trim(const char *s, size_t *len)
{
	while (*len && isspace((unsigned char)*s)) {
		s++;
		(*len)--;
	}
	while (*len && isspace((unsigned char)s[*len - 1]))
		(*len)--;
	return s;
}

/* The line of a byte offset: libyaml gives its errors as offsets. */
size_t cat_line_at(const char *data, size_t len, size_t offset)
{
	size_t line = 1;

	for (size_t i = 0; i < offset && i < len; i++)
		line += data[i] == '\n';
	return line;
}

/* Each item of a comma-separated list into node's list for what. */
int cat_add_items(struct cat_node *node, const char *s, size_t len, int what, const char *where, char *err,
		  size_t errlen)
{
	while (len) {
		size_t tl = 0;
		const char *t = s;
		int rc;

		while (tl < len && s[tl] != ',')
			tl++;
		s += tl < len ? tl + 1 : tl;
		len -= tl < len ? tl + 1 : tl;
		t = cat_trim(t, &tl);
		if (!tl)
			continue;
		if (what < 0) {
			t = cat_ref_name(t, &tl);
			rc = cat_add(&node->depends_on, t, tl, CAT_MAX_DEPS, "dependencies", where, err, errlen);
		} else if (what == AUR_CATALOG_ANY) {
			rc = cat_add(&node->aliases, t, tl, CAT_MAX_ALIASES, "aliases", where, err, errlen);
		} else {
			rc = cat_add(&node->ids[what], t, tl, CAT_MAX_IDS, "identities", where, err, errlen);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* --- the aliases file --- */

static int is_name_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '.' || ch == '_' || ch == '-';
}

/* NAME [TOOL]: items  |  NAME -> dependencies */
static int read_alias_line(struct aur_catalog *c, const char *where, const char *s, size_t len, char *err,
			   size_t errlen)
{
	struct cat_node *node;
	size_t name_len = 0;
	size_t i;
	int what = AUR_CATALOG_ANY;
	int rc;

	while (name_len < len && is_name_char(s[name_len]))
		name_len++;
	if (name_len && s[name_len - 1] == '-' && name_len < len && s[name_len] == '>')
		name_len--; /* "checkout->redis" */
	if (!name_len) {
		snprintf(err, errlen, "%s: expected a name (letters, digits, '.', '_', '-') to begin the line",
			 where);
		return -EINVAL;
	}
	for (i = name_len; i < len && (s[i] == ' ' || s[i] == '\t'); i++)
		;
	if (i < len && isalpha((unsigned char)s[i])) {
		size_t w = i;

		while (i < len && isalnum((unsigned char)s[i]))
			i++;
		for (what = AUR_CATALOG_TOOL_COUNT - 1; what > AUR_CATALOG_ANY; what--)
			if (strlen(aur_catalog_tool_name(what)) == i - w &&
			    !strncmp(aur_catalog_tool_name(what), s + w, i - w))
				break;
		if (what == AUR_CATALOG_ANY) {
			snprintf(err, errlen,
				 "%s: '%.*s' is not a tool (pagerduty, datadog, dynatrace, kubernetes, grafana) "
				 "and a name holds no blanks",
				 where, (int)(i - w), s + w);
			return -EINVAL;
		}
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
	}
	if (i < len && s[i] == ':') {
		i++;
	} else if (what == AUR_CATALOG_ANY && i + 1 < len && s[i] == '-' && s[i + 1] == '>') {
		what = -1;
		i += 2;
	} else {
		snprintf(err, errlen, "%s: expected 'NAME: aliases', 'NAME TOOL: identities' or 'NAME -> dependencies'",
			 where);
		return -EINVAL;
	}
	rc = cat_declare(c, s, name_len, NULL, 0, where, &node, err, errlen);
	if (rc == 0)
		rc = cat_add_items(node, s + i, len - i, what, where, err, errlen);
	return rc;
}

int cat_read_aliases(struct aur_catalog *c, const char *name, const char *data, size_t len, char *err,
		     size_t errlen)
{
	char where[CAT_WHERE_MAX];
	size_t lineno = 0;

	if (memchr(data, '\0', len)) {
		snprintf(err, errlen, "%s:%zu: a NUL byte: not a text file", name,
			 cat_line_at(data, len, (size_t)((const char *)memchr(data, '\0', len) - data)));
		return -EINVAL;
	}
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t ll = nl ? (size_t)(nl - data) : len;
		const char *line = data;
		int rc;

		data += nl ? ll + 1 : ll;
		len -= nl ? ll + 1 : ll;
		lineno++;
		/* a comment: "#" beginning the line or after a blank */
		for (size_t i = 0; i < ll; i++) {
			if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
				ll = i;
				break;
			}
		}
		line = cat_trim(line, &ll);
		if (!ll)
			continue;
		snprintf(where, sizeof(where), "%s:%zu", name, lineno);
		rc = read_alias_line(c, where, line, ll, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* --- files and directories --- */

struct walk {
	struct aur_catalog *c;
	size_t files;
	size_t bytes;
};

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s);
	size_t k = strlen(suffix);

	return n > k && !strcasecmp(s + n - k, suffix);
}

static int is_yaml_name(const char *path)
{
	return has_suffix(path, ".yaml") || has_suffix(path, ".yml");
}

static int open_error(const char *path, int e, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", path, strerror(e));
	if (e == ENOENT)
		return -ENOENT;
	return e == EACCES || e == EPERM ? -EACCES : -EIO;
}

/* The whole file into *out (caller frees), at most AUR_CATALOG_MAX_FILE bytes. */
static int slurp(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = -EIO;

	*out = NULL;
	if (fd < 0)
		return open_error(path, errno, err, errlen);
	if (fstat(fd, &st) < 0) {
		rc = open_error(path, errno, err, errlen);
		goto out;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > AUR_CATALOG_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, AUR_CATALOG_MAX_FILE);
		rc = -E2BIG;
		goto out;
	}
	/* one byte more than allowed: a file that grew since fstat is caught too */
	buf = aur_xmalloc(AUR_CATALOG_MAX_FILE + 1);
	while (n < AUR_CATALOG_MAX_FILE + 1) {
		ssize_t r = read(fd, buf + n, AUR_CATALOG_MAX_FILE + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = open_error(path, errno, err, errlen);
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > AUR_CATALOG_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, AUR_CATALOG_MAX_FILE);
		rc = -E2BIG;
		goto out;
	}
	*out = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

static int read_file(struct walk *w, const char *path, int yaml, char *err, size_t errlen)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	if (++w->files > MAX_FILES) {
		snprintf(err, errlen, "%s: more than %d catalog files", path, MAX_FILES);
		return -E2BIG;
	}
	rc = slurp(path, &data, &len, err, errlen);
	if (rc < 0)
		return rc;
	w->bytes += len;
	if (w->bytes > MAX_TOTAL) {
		snprintf(err, errlen, "%s: the catalog passes %zu bytes", path, MAX_TOTAL);
		rc = -E2BIG;
	} else if (yaml) {
		rc = cat_read_backstage(w->c, path, data, len, err, errlen);
	} else {
		rc = cat_read_aliases(w->c, path, data, len, err, errlen);
	}
	free(data);
	return rc;
}

static int visible(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

static int walk_dir(struct walk *w, const char *dir, int depth, char *err, size_t errlen)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, visible, alphasort);
	int rc = 0;

	if (n < 0)
		return open_error(dir, errno, err, errlen);
	for (int i = 0; i < n; i++) {
		char path[CAT_MAX_PATH];
		struct stat st;

		if (rc < 0)
			goto next;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) >= sizeof(path)) {
			snprintf(err, errlen, "%s/%s: a path longer than %d bytes", dir, names[i]->d_name, CAT_MAX_PATH);
			rc = -E2BIG;
			goto next;
		}
		if (stat(path, &st) < 0) {
			rc = open_error(path, errno, err, errlen);
			if (rc == -ENOENT)
				rc = -EIO; /* a dangling link: the catalog is broken, not missing */
			goto next;
		}
		if (S_ISDIR(st.st_mode)) {
			if (depth >= MAX_DIR_DEPTH) {
				snprintf(err, errlen, "%s: directories nested deeper than %d", path, MAX_DIR_DEPTH);
				rc = -E2BIG;
			} else {
				rc = walk_dir(w, path, depth + 1, err, errlen);
			}
		} else if (S_ISREG(st.st_mode) && (is_yaml_name(path) || has_suffix(path, ".aliases"))) {
			rc = read_file(w, path, is_yaml_name(path), err, errlen);
		}
next:
		free(names[i]);
	}
	free(names);
	return rc;
}

int aur_catalog_load(struct aur_catalog **out, const char *path, char *err, size_t errlen)
{
	struct walk w = { NULL, 0, 0 };
	struct stat st;
	int rc;

	*out = NULL;
	if (stat(path, &st) < 0)
		return open_error(path, errno, err, errlen);
	w.c = cat_new();
	if (S_ISDIR(st.st_mode)) {
		rc = walk_dir(&w, path, 1, err, errlen);
	} else if (S_ISREG(st.st_mode)) {
		rc = read_file(&w, path, is_yaml_name(path), err, errlen);
	} else {
		snprintf(err, errlen, "%s: not a file or a directory", path);
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = cat_finish(w.c, err, errlen);
	if (rc < 0) {
		aur_catalog_free(w.c);
		return rc;
	}
	*out = w.c;
	return 0;
}

int aur_catalog_parse(struct aur_catalog **out, const char *name, const char *data, size_t len,
		      enum aur_catalog_format format, char *err, size_t errlen)
{
	struct aur_catalog *c = cat_new();
	int rc;

	*out = NULL;
	if (len > AUR_CATALOG_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %zu bytes", name, AUR_CATALOG_MAX_FILE);
		rc = -E2BIG;
	} else if (format == AUR_CATALOG_BACKSTAGE) {
		rc = cat_read_backstage(c, name, data, len, err, errlen);
	} else {
		rc = cat_read_aliases(c, name, data, len, err, errlen);
	}
	if (rc == 0)
		rc = cat_finish(c, err, errlen);
	if (rc < 0) {
		aur_catalog_free(c);
		return rc;
	}
	*out = c;
	return 0;
}
