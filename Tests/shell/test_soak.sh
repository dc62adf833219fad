# A short soak: 64 sessions migrating and verifying while migrators switch.
out=$(bash "$REPO/Tests/shell/soak" 3 64 2>&1)
expect_eq "soak exits 0" "0" "$?"
expect_contains "soak holds 64 sessions" "sessions: 64" "$out"
expect_contains "soak finds no error" "errors: 0" "$out"
expect_contains "soak reports p99 batch latency" "p99_batch_latency_us:" "$out"
expect_contains "the daemon exits 0 after the soak" "daemon_exit: 0" "$out"
