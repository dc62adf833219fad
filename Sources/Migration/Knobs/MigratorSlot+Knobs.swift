import Sysfs
import SystemPackage

extension MigratorSlot {
    /// `migration/offload_migrator`: lists every migrator with the active one bracketed; a name
    /// switches to it in one step.
    func offloadMigratorAttribute() -> SysfsAttribute {
        SysfsAttribute(
            "offload_migrator",
            mode: .knob,
            persistence: .value { self.active.name },
            show: {
                let active = self.active.name
                return self.names.map { $0 == active ? "[\($0)]" : $0 }.joined(separator: " ") + "\n"
            },
            store: { (input) throws(Errno) in
                let names = self.names
                try self.switchTo(names[try parseName(input, among: names)])
            }
        )
    }

    /// `<migrator>/offloading`: `1` is `start_offloading(migrator)` (EBUSY while another offload
    /// migrator is active), `0` is `stop_offloading()` if this one is active.
    func offloadingAttribute(for name: String) -> SysfsAttribute {
        SysfsAttribute(
            "offloading",
            mode: .knob,
            show: { self.active.name == name ? "1\n" : "0\n" },
            store: { (input) throws(Errno) in
                if try kstrtobool(input) {
                    try self.startOffloading(name)
                } else {
                    try self.stopOffloading(name)
                }
            }
        )
    }
}

extension MigratorStats {
    /// `folios_migrated` and `folios_failures`, each reset by any write.
    func counterAttributes() -> [SysfsAttribute] {
        [
            .counter("folios_migrated", value: { self.foliosMigrated }, reset: { self.resetMigrated() }),
            .counter("folios_failures", value: { self.foliosFailures }, reset: { self.resetFailures() }),
        ]
    }
}
