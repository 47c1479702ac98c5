#include <errno.h>
#include <string.h>

#include "api_req.h"
#include "banned.h"

enum aur_http_next aur_api_req_refuse(const struct aur_api *a, struct aur_http_req *req, unsigned status,
				      const char *why)
{
	AUR_API_LOG(a, AUR_LOG_INFO, "%s %s from %s: %u %s", aur_http_method_name(req), aur_http_path(req),
		    aur_http_remote(req), status, why);
	return aur_http_respond_error(req, status, "%s", why);
}

enum aur_http_next aur_api_req_failed(const struct aur_api *a, struct aur_http_req *req, int rc, const char *err)
{
	if (rc == -EINVAL)
		return aur_api_req_refuse(a, req, 400, err);
	if (rc == -ENOENT)
		return aur_api_req_refuse(a, req, 404, err);
	AUR_API_LOG(a, AUR_LOG_WARN, "%s %s from %s: 503 %s", aur_http_method_name(req), aur_http_path(req),
		    aur_http_remote(req), err[0] ? err : strerror(-rc));
	aur_http_add_header(req, "Retry-After", rc == -EBUSY ? "1" : "5");
	if (rc == -ESHUTDOWN)
		return aur_http_respond_error(req, 503, "aurora-recv is shutting down");
	if (rc == -EBUSY)
		return aur_http_respond_error(req, 503, "the database is busy: %s", err);
	return aur_http_respond_error(req, 503, "the database failed: %s", err);
}
