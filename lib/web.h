/*
 * web.h - aurora-recv's page: the files of web/ (index.html, app.js,
 * app.css), compiled into the binary by scripts/embed and served as they are:
 *
 *   GET /          index.html
 *   GET /{file}    a file of web/ by its name ("app.js"); 404 JSON otherwise
 *
 * The page holds no data, so these routes ask for no token: its script
 * logs in and reads the incident API, which does (opauth.h, api.h).
 */
#ifndef AURORA_WEB_H
#define AURORA_WEB_H

#include "http.h"

/*
 * Add the routes above to h. "/{}" takes every one-segment path, so add
 * them after the routes of /healthz and the like. 0, or aur_http_route's
 * error.
 */
int aur_web_routes(struct aur_http *h);

#endif
