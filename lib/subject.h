/*
 * subject.h - whose alert it is: the subject of an alert record, derived
 * in one place from what each platform really carries.
 *
 * The subject is the thing that is failing: a service, a workload (a
 * deployment, a pod's workload, a container), a namespace, a probed target
 * or a host. Exporters report about other things: an alert from
 * kube-state-metrics, the kubelet, node-exporter or a blackbox probe carries
 * the exporter's own job and service labels, and its subject is in
 * namespace, deployment, pod, container, instance or target. Every subject
 * has the name as sent, a canonical key (aur_textvec_service_key: the
 * naming forms of one service share it) and where it was read from, so a
 * join on it can always be explained.
 *
 * Dependencies are the other services an alert names in its labels or tags
 * (upstream, db, peer.service, depends_on, destination_service, ...) and
 * Dynatrace's root-cause entity: evidence that the alert belongs with the
 * incident of that service.
 */
#ifndef AURORA_SUBJECT_H
#define AURORA_SUBJECT_H

#include <stddef.h>
#include <jq.h>

#define AUR_SUBJECT_MAX_DEPS 4
#define AUR_SUBJECT_NAME_MAX 128

struct aur_subject_ref {
	char name[AUR_SUBJECT_NAME_MAX]; /* as sent */
	char key[AUR_SUBJECT_NAME_MAX];  /* canonical ("" when none) */
	char from[48];                   /* "service", "label namespace", "tag kube_deployment" ... */
};

struct aur_subject {
	const char *kind; /* service, workload, pod, namespace, target, host; "" when none */
	struct aur_subject_ref s;
	size_t ndeps;
	struct aur_subject_ref dep[AUR_SUBJECT_MAX_DEPS];
};

/* The subject and dependencies of an alert record (rec borrowed). */
void aur_subject_of(jv rec, struct aur_subject *out);

/*
 * Whether the record is a heartbeat: an alert that fires all the time to
 * prove the alerting path works (Alertmanager's Watchdog, DeadMansSwitch,
 * InfoInhibitor), not a problem.
 */
int aur_subject_is_heartbeat(jv rec);

/* The subject as a JSON object {kind, name, key, from, depends_on: [...]}. */
jv aur_subject_json(const struct aur_subject *s);

#endif
