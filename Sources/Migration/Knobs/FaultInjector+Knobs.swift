import Sysfs
import SystemPackage

extension FaultInjector {
    /// `probability` (percent, 0–100) and `times` (-1 for no limit), as the kernel's
    /// fault-injection attributes, and `stall` (a boolean) that wedges every channel.
    func registerKnobs(in directory: SysfsDirectory) {
        directory.add(.unsigned("probability", range: 0...100, get: { UInt32(self.probability) }, set: { self.probability = Int($0) }))
        directory.add(SysfsAttribute(
            "times",
            mode: .knob,
            persistence: .shown,
            show: { "\(self.times)\n" },
            store: { (input) throws(Errno) in
                let value = try kstrtoint(input, base: 0)
                guard value >= -1 else { throw .invalidArgument }
                self.times = Int(value)
            }
        ))
        directory.add(.boolean("stall", get: { self.stallChannels }, set: { self.stallChannels = $0 }))
    }
}
