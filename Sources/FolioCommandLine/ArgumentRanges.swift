import ArgumentParser

/// What a number typed on the command line may be, checked in each command's `validate()`: a
/// value past what the arithmetic behind it holds (seconds as a `Duration`, a count times a
/// folio size) is a message naming the option, never a trap.
public enum ArgumentRanges {
    /// Seconds to run or hold: finite, at most a year.
    public static let seconds: ClosedRange<Double> = 0...31_536_000
    /// Folios in one request, as the protocol allows.
    public static let folios = 1...16384
    /// Folio orders: 4 KiB to 2 MiB.
    public static let order = 0...9

    /// Throws unless `value` is finite and in `range` (and above its lower bound when `positive`).
    public static func check(_ value: Double, _ option: String, in range: ClosedRange<Double> = seconds, positive: Bool = false) throws {
        guard value.isFinite, range.contains(value), !positive || value > range.lowerBound else {
            throw ValidationError("\(option) must be \(positive ? "more than" : "from") \(shown(range.lowerBound)) \(positive ? "and at most" : "to") \(shown(range.upperBound))")
        }
    }

    /// A bound as typed: 3600, not 3600.0; 0.1, not 0.
    private static func shown(_ bound: Double) -> String {
        bound == bound.rounded() ? String(Int(bound)) : String(bound)
    }

    /// Throws unless `value` is in `range`.
    public static func check(_ value: Int, _ option: String, in range: ClosedRange<Int>) throws {
        guard range.contains(value) else { throw ValidationError("\(option) must be \(range.lowerBound) to \(range.upperBound)") }
    }
}
