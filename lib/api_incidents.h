/*
 * api_incidents.h - the incidents resource of the API (api.h): a manual
 * incident from a request's JSON, the actions on one (resolve, reopen,
 * merge, acknowledge, comments, postmortem), the list, the full object and
 * the events stream.
 *
 * This is the one place that turns a request's JSON into the arguments of
 * incident_write.h; aurora-incident create builds the same body from its
 * options and comes through here too, so both check a field alike.
 */
#ifndef AURORA_API_INCIDENTS_H
#define AURORA_API_INCIDENTS_H

#include <stddef.h>
#include <sqlite3.h>
#include <jq.h>

#include "api_req.h"
#include "http.h"
#include "llm.h"

/* Limits on the fields of a manual incident. */
#define AUR_API_INCIDENTS_TITLE_MAX 1000
#define AUR_API_INCIDENTS_SERVICE_MAX 256
#define AUR_API_INCIDENTS_SOURCE_TYPE_MAX 64
#define AUR_API_INCIDENTS_LINK_MAX 2048

/*
 * Create a manual incident from the fields of POST /api/incidents, body (an
 * object; consumed):
 *   source_type     required, 1-64 of [a-z0-9_.-] ("manual" for a person)
 *   alert_title     required, a non-empty string of at most 1000 bytes
 *   alert_service   optional string (at most 256 bytes) or null
 *   severity        optional, critical|high|medium|low|info (default medium)
 *   alert_metadata  optional object or null (kept as the incident's metadata)
 *   source_link     optional string (at most 2048 bytes): a link back to the source
 * Other fields are ignored. The incident starts at now_ms, status
 * investigating, with its incident.created event (aur_incident_write_create:
 * a transaction of its own, the caller must not have one open on db).
 * Returns 0 with *id set; -EINVAL with err naming the bad field ("severity:
 * must be one of ..."), nothing written; -EBUSY, -EIO (rolled back).
 */
int aur_api_incidents_create(sqlite3 *db, jv body, long long now_ms, long long *id, char *err, size_t errlen);

/*
 * On the writing connection: r's action on incident r->id (resolve, reopen,
 * merge, acknowledge, comments), body consumed. r->rc its result; r->out
 * the incident after the change when it is 0, else r->err says why.
 */
void aur_api_incidents_act(struct aur_api_req *r, jv body);

/*
 * The postmortem of r->id through db: the template, or the model when llm
 * is set (it may take up to o.postmortem_timeout_ms: api.c then runs this
 * on a thread of its own with a connection of its own). body consumed;
 * r->rc, and r->out {"markdown", "generated_by", "generated"} when 0.
 */
void aur_api_incidents_postmortem(struct aur_api_req *r, sqlite3 *db, const struct aur_llm_config *llm,
				  jv body);

/* GET /api/incidents, GET /api/incidents/{id}, GET /api/incidents/stream: answered (or the stream started). */
enum aur_http_next aur_api_incidents_list(struct aur_api_req *r);
enum aur_http_next aur_api_incidents_show(struct aur_api_req *r);
enum aur_http_next aur_api_incidents_stream(struct aur_api_req *r);

#endif
