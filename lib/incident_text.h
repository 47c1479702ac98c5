/*
 * incident_text.h - incidents for people: the list table, the show page,
 * one line per event, and the postmortem document.
 *
 * Everything here formats the JSON objects of incident_view.h (borrowed,
 * never freed here) into a caller's buffer; nothing prints. Text that came
 * from outside (titles, descriptions, reasons) has its control characters
 * replaced by '?' (newlines kept only where a block of text is expected),
 * so a webhook cannot send escape sequences to an operator's terminal.
 * Each function returns 0, or -E2BIG when b's limit is reached (b then
 * holds part of the text).
 */
#ifndef AURORA_INCIDENT_TEXT_H
#define AURORA_INCIDENT_TEXT_H

#include <jq.h>

#include "buf.h"

/* The header line of the list table. */
int aur_incident_text_list_header(struct aur_buf *b);
/* One row of the list table for a list entry (aur_incident_list). */
int aur_incident_text_list_row(jv entry, struct aur_buf *b);

/*
 * One line for an event object (aur_incident_event_row), newline included:
 *   2026-03-03T18:00:06.464Z #12 incident.created [high] checkout: CheckoutLatencyHigh
 * where #12 is the incident; the details of a status change or a merge
 * follow in parentheses, other data as compact JSON.
 */
int aur_incident_text_event(jv event, struct aur_buf *b);

/* The show page: fields, summary, root cause, timeline, alerts, thoughts, suggestions, postmortem. */
int aur_incident_text_show(jv incident, struct aur_buf *b);

/*
 * The postmortem of a full incident object as Markdown: title, a note when
 * the incident is not resolved, Summary, Impact (duration, alerts,
 * services, severity), Timeline (every event), Root cause and evidence
 * (the investigation's thoughts), Contributing alerts, Action items (the
 * suggestions). now_ms is the generation time written into it.
 */
int aur_incident_text_postmortem(jv incident, long long now_ms, struct aur_buf *b);

#endif
