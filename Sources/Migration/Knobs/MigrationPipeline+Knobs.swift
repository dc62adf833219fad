import FolioProtocol
import Sysfs
import SystemPackage

extension MigrationPipeline {
    /// Adds `reason_mask`, `transactional`, `batch_size`, `revoke_timeout_ms` and `stats/*` to
    /// `directory` (`migration/`).
    func registerKnobs(in directory: SysfsDirectory) {
        directory.add(reasonMaskAttribute())
        directory.add(.boolean("transactional", get: { self.transactional }, set: { self.transactional = $0 }))
        directory.add(.unsigned("batch_size", range: 1...UInt32(Self.maxBatchFolios), get: { UInt32(self.batchSize) }, set: { self.batchSize = Int($0) }))
        directory.add(.unsigned("revoke_timeout_ms", range: 1...UInt32(Self.maxRevokeTimeoutMilliseconds), get: { UInt32(self.revokeTimeoutMilliseconds) }, set: { self.revokeTimeoutMilliseconds = Int($0) }))
        let stats = directory.subdirectory("stats")
        for counter in MigrationCounter.allCases {
            stats.add(.readOnly(counter.name) { "\(self.statistics[counter])\n" })
        }
        stats.add(latencyAttribute("batch_latency_ns", batchLatency))
        stats.add(latencyAttribute("first_folio_ns", firstFolioLatency))
    }

    /// `p50 p99 max samples` of the latest latencies; writing 0 forgets them.
    private func latencyAttribute(_ name: String, _ record: LatencyRecord) -> SysfsAttribute {
        SysfsAttribute(
            name,
            mode: .knob,
            show: {
                let summary = record.summary
                return "\(summary.p50) \(summary.p99) \(summary.max) \(summary.count)\n"
            },
            store: { (input) throws(Errno) in
                guard try kstrtoull(input) == 0 else { throw .invalidArgument }
                record.reset()
            }
        )
    }

    /// Shows the enabled reasons (`none` for none); takes names separated by commas, `all`,
    /// `none`, or a number whose bit `r` enables reason `r`.
    private func reasonMaskAttribute() -> SysfsAttribute {
        let names = MigrationReason.names
        let everything = (1 << names.count) - 1
        return SysfsAttribute(
            "reason_mask",
            mode: .knob,
            persistence: .shown,
            show: {
                let mask = self.reasonMask
                let enabled = names.indices.filter { mask & (1 << $0) != 0 }.map { names[$0] }
                return (enabled.isEmpty ? "none" : enabled.joined(separator: ",")) + "\n"
            },
            store: { (input) throws(Errno) in
                if sysfsStreq(input, "all") {
                    self.reasonMask = everything
                } else if sysfsStreq(input, "none") {
                    self.reasonMask = 0
                } else if let first = input.utf8.first, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) || first == UInt8(ascii: "+") {
                    let mask = try kstrtouint(input, base: 0)
                    guard mask <= everything else { throw .invalidArgument }
                    self.reasonMask = Int(mask)
                } else {
                    self.reasonMask = try parseNameList(input, among: names).reduce(0) { $0 | (1 << $1) }
                }
            }
        )
    }
}
