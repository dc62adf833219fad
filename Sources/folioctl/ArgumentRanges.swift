import ArgumentParser

/// What a number typed on the command line may be, checked in each command's `validate()`: a
/// value past what the arithmetic behind it holds (seconds as a `Duration`) is a message naming
/// the option, never a trap. (`foliobench` has its own, with the ranges of the load tools.)
enum ArgumentRanges {
    /// Seconds to run or hold: finite, at most a year.
    static let seconds: ClosedRange<Double> = 0...31_536_000

    /// Throws unless `value` is finite and in `range` (and above its lower bound when `positive`).
    static func check(_ value: Double, _ option: String, in range: ClosedRange<Double> = seconds, positive: Bool = false) throws {
        guard value.isFinite, range.contains(value), !positive || value > range.lowerBound else {
            throw ValidationError("\(option) must be \(positive ? "more than" : "from") \(Int(range.lowerBound)) \(positive ? "and at most" : "to") \(Int(range.upperBound))")
        }
    }
}
