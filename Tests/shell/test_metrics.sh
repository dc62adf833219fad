# `[metrics] listen` scraped by a real Prometheus (Debian's package): a bad address and a port
# in use stop the daemon at start; promtool checks the endpoint's output; after migrations
# Prometheus's HTTP API answers what the knobs say, and a rate that follows the migrations.
: "${FOLIOCTL:?FOLIOCTL must name the folioctl binary}"
command -v prometheus >/dev/null && command -v promtool >/dev/null || { fail "prometheus and promtool are installed (make test-deps)"; return 0; }
ctl() { "$FOLIOCTL" --socket "$SOCK" --space metrics "$@"; }
# A free loopback port: bound by the kernel's choice, then released for the caller.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port) PROM_PORT=$(free_port)
PROM_PID= HOLDER_PID=
stop_others() {
    [ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait "$PROM_PID" 2>/dev/null
    [ -n "$HOLDER_PID" ] && kill "$HOLDER_PID" 2>/dev/null && wait "$HOLDER_PID" 2>/dev/null
    PROM_PID= HOLDER_PID=
}
trap 'stop_others; cleanup' EXIT

config_with_metrics() {  # LISTEN-VALUE [KNOB-LINES]
    write_config "${2:-}"
    printf '\n[limits]\nattach_timeout_ms = 300\n\n[metrics]\nlisten = %s\n' "$1" >> "$CONFIG"
}

# A bad value is a config error naming its line (the last of the file); off, nothing listens.
config_with_metrics '"localhost:9464"'
expect_config_error "listen = \"localhost:9464\" is a config error on its line" "foliod.toml:$(wc -l < "$CONFIG"): [metrics] listen: expected \"ADDRESS:PORT\""
config_with_metrics '"127.0.0.1:70000"'
expect_config_error "... and so is a port past 65535" "foliod.toml:$(wc -l < "$CONFIG"): [metrics] listen: expected"

# A port in use: the daemon says so and stops before it mounts anything.
python3 -c 'import socket, sys, time; s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(30)' "$PORT" &
HOLDER_PID=$!
listening() { python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$PORT" 2>/dev/null; }
wait_for listening || fail "the port holder listens"
config_with_metrics "\"127.0.0.1:$PORT\""
expect_config_error "a port in use stops the daemon at start" "[metrics] listen = \"127.0.0.1:$PORT\": cannot listen there: Address already in use (EADDRINUSE)"
kill "$HOLDER_PID"; wait "$HOLDER_PID" 2>/dev/null; HOLDER_PID=

config_with_metrics "\"127.0.0.1:$PORT\"" '"migration/offload_migrator" = "mtcopy"'
start_daemon || return 0
URL=http://127.0.0.1:$PORT/metrics
log_has "metrics endpoint listening.*127.0.0.1:$PORT" && pass "the daemon logs where the metrics are" || fail "no log line for the endpoint" "$(tail -n 3 "$LOG")"
headers=$(curl -s -D - -o "$WORK/metrics.txt" "$URL")
expect_contains "GET /metrics answers in the text format" "Content-Type: text/plain; version=0.0.4; charset=utf-8" "$headers"
out=$(promtool check metrics < "$WORK/metrics.txt" 2>&1); status=$?
expect_eq "promtool check metrics finds nothing to say (status $status)" "" "$out"
expect_eq "every family has a HELP and a TYPE line" "$(grep -c '^# TYPE' "$WORK/metrics.txt")" "$(grep -c '^# HELP' "$WORK/metrics.txt")"
expect_contains "the active migrator is an info gauge" 'foliod_migrator_info{migrator="mtcopy"} 1' "$(cat "$WORK/metrics.txt")"
expect_eq "curl /nothing is 404" "404" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/nothing")"

# Prometheus on loopback, scraping every second into its own folder under $WORK.
cat > "$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: foliod
    scrape_interval: 1s
    static_configs:
      - targets: ["127.0.0.1:$PORT"]
YAML
promtool check config "$WORK/prometheus.yml" >/dev/null 2>&1 && pass "promtool check config accepts the README's scrape config" || fail "promtool check config"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prometheus" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn > "$WORK/prometheus.log" 2>&1 &
PROM_PID=$!
# query PROMQL: the first result's value, or nothing yet.
query() {
    curl -s --max-time 2 --get --data-urlencode "query=$1" "http://127.0.0.1:$PROM_PORT/api/v1/query" |
        python3 -c 'import json, sys
try:
    result = json.load(sys.stdin)["data"]["result"]
    print(result[0]["value"][1] if result else "")
except Exception:
    pass'
}
# poll_query PROMQL EXPECTED [SECONDS]: until the answer is EXPECTED (at most SECONDS, 20 s);
# the last answer is left in $ANSWER.
poll_query() {
    local end=$((SECONDS + ${3:-20}))
    while :; do
        ANSWER=$(query "$1")
        [ "$ANSWER" = "$2" ] && return 0
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.5
    done
}
poll_query 'up{job="foliod"}' 1 30 && pass "Prometheus scrapes the endpoint (up is 1)" || fail "up{job=\"foliod\"} is [$ANSWER]" "$(tail -n 5 "$WORK/prometheus.log")"

handles=$(ctl alloc --tier fast --order 0 --count 256)
for to in slow fast slow; do ctl migrate --to "$to" --reason promotion $handles > /dev/null; done
ctl migrate --to fast --reason demotion $handles > /dev/null
migrated=$(cat "$MNT/migration/stats/folios_migrated") mtcopy=$(cat "$MNT/mtcopy/folios_migrated") batches=$(cat "$MNT/migration/stats/batches")
[ "$migrated" -ge 1024 ] && pass "1024 folios migrated (the knob says $migrated)" || fail "migration/stats/folios_migrated is $migrated"
poll_query foliod_folios_migrated_total "$migrated" && pass "foliod_folios_migrated_total in Prometheus is the knob's $migrated" \
    || fail "foliod_folios_migrated_total is [$ANSWER], the knob $migrated"
poll_query 'foliod_migrator_folios_migrated_total{migrator="mtcopy"}' "$mtcopy" && pass "... and mtcopy's is mtcopy/folios_migrated ($mtcopy)" \
    || fail "mtcopy's count is [$ANSWER], the knob $mtcopy"
poll_query 'foliod_reason_folios_migrated_total{reason="promotion"}' 768 && pass "... by reason: 768 for promotion" || fail "promotion's count is [$ANSWER]"
poll_query 'foliod_reason_folios_migrated_total{reason="demotion"}' 256 && pass "... and 256 for demotion" || fail "demotion's count is [$ANSWER]"
poll_query foliod_batch_duration_seconds_count "$batches" && pass "the batch histogram counts every batch ($batches, migration/stats/batches)" \
    || fail "foliod_batch_duration_seconds_count is [$ANSWER], batches $batches"
used=$(( $(cat "$MNT/tiers/fast/size") - $(cat "$MNT/tiers/fast/free_bytes") ))
poll_query 'foliod_tier_used_bytes{tier="fast"}' "$used" && pass "fast's used bytes are its size less free_bytes ($used)" || fail "used is [$ANSWER], expected $used"
poll_query foliod_named_spaces 1 && pass "one named space" || fail "foliod_named_spaces is [$ANSWER]"

# A connection that never attaches times out (attach_timeout_ms = 300): one ETIMEDOUT refusal.
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1]); s.settimeout(5); s.recv(4096)' "$SOCK" 2>/dev/null
poll_query 'foliod_refused_connections_total{errno="ETIMEDOUT"}' 1 && pass "a client idle before attaching counts as refused with ETIMEDOUT" \
    || fail "the ETIMEDOUT count is [$ANSWER]"

# A rate: nothing moves, then a storm of migrations for 6 s, then nothing again.
poll_query 'rate(foliod_folios_migrated_total[3s])' 0 && pass "idle, the rate is 0" || fail "idle rate is [$ANSWER]"
( end=$((SECONDS + 6)); while [ "$SECONDS" -lt "$end" ]; do ctl migrate --to slow $handles >/dev/null; ctl migrate --to fast $handles >/dev/null; done ) &
storm=$!
rate_seen=
for _ in $(seq 40); do
    ANSWER=$(query 'rate(foliod_folios_migrated_total[3s])')
    awk -v r="${ANSWER:-0}" 'BEGIN { exit !(r > 100) }' && { rate_seen=$ANSWER; break; }
    sleep 0.25
done
[ -n "$rate_seen" ] && pass "during the storm rate(foliod_folios_migrated_total[3s]) rises ($rate_seen folios/s)" || fail "the rate stayed [$ANSWER]"
wait "$storm"
migrated=$(cat "$MNT/migration/stats/folios_migrated")
poll_query foliod_folios_migrated_total "$migrated" && pass "after the storm the total is the knob's again ($migrated)" || fail "total [$ANSWER], knob $migrated"
poll_query 'rate(foliod_folios_migrated_total[3s])' 0 && pass "... and the rate falls back to 0" || fail "rate after the storm [$ANSWER]"

# The daemon stops at once although Prometheus keeps a connection open to it.
start=$SECONDS
stop_daemon TERM
expect_eq "SIGTERM stops the daemon cleanly while it is scraped" "0" "$STATUS"
[ $((SECONDS - start)) -le 5 ] && pass "... within 5 s ($((SECONDS - start)) s)" || fail "stopping took $((SECONDS - start)) s"
curl -s -o /dev/null --max-time 2 "$URL"; expect_eq "... and nothing listens on the port any more (curl: connection refused)" "7" "$?"
stop_others
