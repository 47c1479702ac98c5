#!/usr/bin/env bats
# web.bats - aurora-recv serves the page (web/, compiled in): GET /, /app.js,
# /app.css with their types and the security headers, in the accept loop and
# in one-connection mode (tcpserver); 404 JSON for another file. What the page
# does in a browser is tests/browser/run.mjs (make check-browser).

bats_require_minimum_version 1.5.0
load helpers/common
load helpers/recv

setup() {
	aurora_fresh_db
	RECV_PID=
	TCP_PID=
}

teardown() {
	if [ -n "$TCP_PID" ]; then
		kill "$TCP_PID" 2>/dev/null || true
		wait "$TCP_PID" 2>/dev/null || true
	fi
	recv_stop
}

# the page's three files, each with its type, no-cache, a CSP without inline script, and the bytes of web/
check_page() {
	local path file type
	for path in / /app.js /app.css; do
		case $path in
		/) file=index.html type='text/html; charset=utf-8' ;;
		/app.js) file=app.js type='text/javascript; charset=utf-8' ;;
		/app.css) file=app.css type='text/css; charset=utf-8' ;;
		esac
		http "$RECV_URL$path"
		assert_output 200
		assert_equal "$(header Content-Type)" "$type"
		assert_equal "$(header Cache-Control)" no-cache
		assert_equal "$(header X-Content-Type-Options)" nosniff
		[[ "$(header Content-Security-Policy)" == *"script-src 'self';"* ]]
		[[ "$(header Content-Security-Policy)" == *"frame-ancestors 'none'"* ]]
		cmp "$RESP" "$BATS_TEST_DIRNAME/../web/$file"
	done
}

@test "GET /, /app.js and /app.css are web/'s files with their types, no-cache and the security headers" {
	recv_start
	check_page
	# HEAD too (GET includes it)
	run -0 curl -sS -I -o /dev/null -w '%{http_code}' "$RECV_URL/app.js"
	assert_output 200
}

@test "the page needs no token; the data behind it does" {
	recv_start
	http "$RECV_URL/"
	assert_output 200
	http "$RECV_URL/api/incidents"
	assert_output 401
}

@test "another file is 404 in JSON, a POST to the page 405, and /healthz is still itself" {
	recv_start
	http "$RECV_URL/nothing.js"
	assert_output 404
	json '.error | test("no such page: /nothing.js")'
	assert_equal "$(header Content-Type)" application/json
	http "$RECV_URL/index"
	assert_output 404
	http -X POST --data-binary '{}' "$RECV_URL/"
	assert_output 405
	http "$RECV_URL/healthz"
	assert_output 200
	json '.status == "ok"'
}

@test "one-connection mode (tcpserver) serves the page too" {
	tcpserver -1 -H -R -l localhost 127.0.0.1 0 aurora-recv --db "$AURORA_DB" \
		--log-file "$BATS_TEST_TMPDIR/recv.log" >"$BATS_TEST_TMPDIR/tcp.out" 2>"$BATS_TEST_TMPDIR/tcp.err" 3>&- &
	TCP_PID=$!
	tcp_wait
	check_page
}
