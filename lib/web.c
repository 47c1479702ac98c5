#include <string.h>

#include "embed.h"
#include "web.h"
#include "banned.h"

/* The Content-Type of a file of web/ by its extension; NULL for one the page does not use. */
static const char *content_type(const char *name)
{
	static const char *const types[][2] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(dot, types[i][0]))
			return types[i][1];
	return NULL;
}

static enum aur_http_next file(struct aur_http_req *req, enum aur_http_phase phase, void *arg)
{
	const char *name = arg ? arg : aur_http_param(req, 0);
	const char *type = name ? content_type(name) : NULL;
	size_t len = 0;
	const char *data = type ? aur_embed_find("web", name, &len) : NULL;

	if (phase != AUR_HTTP_HEADERS)
		return AUR_HTTP_ANSWERED;
	if (!data)
		return aur_http_respond_error(req, 404, "no such page: %s", aur_http_path(req));
	/*
	 * The files change with the binary only: no-cache has the browser ask
	 * again each time, so a new aurora-recv never runs an old script
	 * against a new API (they are a few tens of KB, on the operator's own
	 * receiver).
	 */
	aur_http_add_header(req, "Cache-Control", "no-cache");
	return aur_http_respond(req, 200, type, data, len);
}

int aur_web_routes(struct aur_http *h)
{
	/* the page's name is a literal: arg outlives the server */
	static char index_html[] = "index.html";
	int rc;

	rc = aur_http_route(h, AUR_HTTP_GET, "/", file, index_html);
	if (rc == 0)
		rc = aur_http_route(h, AUR_HTTP_GET, "/{}", file, NULL);
	return rc;
}
