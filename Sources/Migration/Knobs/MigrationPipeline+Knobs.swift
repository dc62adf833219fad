import FolioProtocol
import Sysfs
import SystemPackage

extension MigrationPipeline {
    /// Adds `reason_mask`, `batch_size` and `stats/*` to `directory` (`migration/`).
    func registerKnobs(in directory: SysfsDirectory) {
        directory.add(reasonMaskAttribute())
        directory.add(.unsigned("batch_size", range: 1...UInt32(Self.maxBatchFolios), get: { UInt32(self.batchSize) }, set: { self.batchSize = Int($0) }))
        let stats = directory.subdirectory("stats")
        for counter in MigrationStatistics.Counter.allCases {
            stats.add(.readOnly(counter.name) { "\(self.statistics[counter])\n" })
        }
    }

    /// Shows the enabled reasons (`none` for none); takes names separated by commas, `all`,
    /// `none`, or a number whose bit `r` enables reason `r`.
    private func reasonMaskAttribute() -> SysfsAttribute {
        let names = MigrationReason.names
        let everything = (1 << names.count) - 1
        return SysfsAttribute(
            "reason_mask",
            mode: .knob,
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
