# backtest.bash - an inbox filled from deliveries with their own times.
#
#   load helpers/backtest
#
# inbox_load FILE: every line of FILE, {"at", "platform", "headers", "body"}
# (the scenario format of ../shared/scenarios; a header line, without a
# platform, is skipped), becomes
# one inbox row received at "at", in file order, as aurora-recv stores a
# delivery. One sqlite3 statement: the JSON goes in through readfile(), never
# through the shell's quoting.
inbox_load() {
	local array="$BATS_TEST_TMPDIR/load.json"

	jq -sc 'map(select(.platform))' "$1" > "$array"
	sqlite3 "$AURORA_DB" "PRAGMA busy_timeout = 5000;
		INSERT INTO inbox(platform, received_at, received_ms, remote, content_type, headers,
			body, body_sha256)
		SELECT json_extract(value, '\$.platform'),
			strftime('%Y-%m-%dT%H:%M:%fZ', json_extract(value, '\$.at')),
			CAST(round((julianday(json_extract(value, '\$.at')) - 2440587.5) * 86400000) AS INTEGER),
			'192.0.2.7', 'application/json', coalesce(json_extract(value, '\$.headers'), '{}'),
			CAST(json_extract(value, '\$.body') AS BLOB), lower(hex(randomblob(32)))
		FROM json_each(readfile('$array')) ORDER BY key;" >/dev/null
}
