# inbox.bash - rows in the inbox without the receiver, and waiting for output.
#
#   load helpers/inbox
#
# The schema comes from running any aurora command once (aurora_schema);
# rows go in with the sqlite3 CLI, as a receiver would have stored them.

# Create the schema in $AURORA_DB.
aurora_schema() {
	aurora-connector list >/dev/null
}

# inbox_insert PLATFORM BODY [CONTENT_TYPE] [AGE_SECONDS] [TEST]
# One inbox row received AGE_SECONDS ago (default now); prints nothing.
inbox_insert() {
	local platform=$1 body=${2//\'/\'\'} ctype=${3:-application/json} age=${4:-0} test=${5:-0}
	local ms=$(($(date +%s%3N) - age * 1000))

	sqlite3 "$AURORA_DB" "PRAGMA busy_timeout = 5000;
		INSERT INTO inbox(platform, received_at, received_ms, remote, content_type, headers,
			body, body_sha256, test)
		VALUES ('$platform', strftime('%Y-%m-%dT%H:%M:%fZ', $ms / 1000.0, 'unixepoch'), $ms,
			'192.0.2.7', '$ctype', '{\"content-type\":\"$ctype\",\"user-agent\":\"bats\"}',
			CAST('$body' AS BLOB), lower(hex(randomblob(32))), $test);" >/dev/null
}

# inbox_fill N PLATFORM: N rows {"n":1} .. {"n":N} in one transaction.
inbox_fill() {
	local n=$1 platform=$2

	sqlite3 "$AURORA_DB" "PRAGMA busy_timeout = 5000;
		WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $n)
		INSERT INTO inbox(platform, received_at, received_ms, body, body_sha256)
		SELECT '$platform', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
			CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
			CAST(json_object('n', i) AS BLOB), lower(hex(randomblob(32))) FROM k;" >/dev/null
}

# wait_exit PID: wait up to ~10 s for PID to end; its status goes to $waited.
# shellcheck disable=SC2034 # $waited is what the caller reads
wait_exit() {
	local pid=$1

	for _ in $(seq 1 200); do
		if ! kill -0 "$pid" 2>/dev/null; then
			waited=0
			wait "$pid" || waited=$?
			return 0
		fi
		sleep 0.05
	done
	echo "process $pid did not end" >&2
	return 1
}
