/*
 * shape.h - does a JSON body look like its platform's webhook? Refused at
 * the door.
 *
 * aurora-recv used to answer 202 to any well-formed JSON and leave the
 * verdict to aurora-normalize, so `{"hello":"world"}` sent to the Splunk URL
 * was "accepted" and then vanished into a log line. These checks run before
 * the inbox write, one per platform, and answer one question: is the
 * platform's anchor there (Alertmanager's "alerts" array, PagerDuty's
 * "event" object or "messages" array, a Splunk sid ...)? They are
 * deliberately weaker than the mappings: a shape that is valid but unusual
 * (Grafana legacy and unified, Alertmanager v4, PagerDuty V1/V2/V3, Datadog's
 * default or a custom template, Netdata Cloud and Agent, Dynatrace custom
 * templates, every Jenkins notifier) passes, and whatever passes the door
 * and still makes no alert is the mapping's to explain. The user-defined
 * payloads (Datadog, Dynatrace, the Netdata Agent's custom_sender, Jenkins
 * notifiers) match field names loosely: case, "_", "-" and spaces do not
 * count (ALERT_ID, alertId and "alert id" are alert_id).
 *
 * Cost: one pass over the top-level object's text, no allocation, no
 * parsing of nested values (they are skipped by bracket counting); the body
 * was checked to be JSON before. `make bench` (scripts/bench-door) measures
 * it against the receiver with --no-shape-check.
 *
 * Platforms without a check (one an operator adds later) only need
 * well-formed JSON: aur_shape_check says yes to them.
 */
#ifndef AURORA_SHAPE_H
#define AURORA_SHAPE_H

#include <stddef.h>

/*
 * Check the len bytes at body, one JSON value (the caller checked that),
 * against platform's shape. 0 when it fits, when platform has no check, or
 * when the text cannot be read as JSON here (the check is lenient: it never
 * refuses what it does not understand); -EINVAL with why saying what is
 * missing, e.g. `not an Alertmanager webhook: no "alerts" array`.
 */
int aur_shape_check(const char *platform, const void *body, size_t len, char *why, size_t n);

/*
 * The same check for a form body (application/x-www-form-urlencoded, which
 * Datadog sends when its webhook is set to "encode as form"): the JSON
 * object one lone payload, json or data field holds, as Datadog's mapping
 * reads it, else the object of the form's fields as aurora-inbox hands
 * them on (lib/form.h). The same answers and reasons as aur_shape_check
 * gives that JSON. Unlike it, this decodes and allocates: forms are rare.
 */
int aur_shape_check_form(const char *platform, const void *body, size_t len, char *why, size_t n);

#endif
