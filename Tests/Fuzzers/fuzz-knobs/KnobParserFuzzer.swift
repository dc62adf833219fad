// libFuzzer entry point for the knob parsers: `make libfuzzer` builds this with
// `--sanitize=fuzzer -DLIBFUZZER`, so libFuzzer supplies main and coverage guides the inputs.
// Every input must parse without crashing, and the parsers must agree with one another.
import Sysfs

#if LIBFUZZER
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKnobParsers(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    // A store sees the value up to its first NUL.
    let text = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    let narrow = try? kstrtouint(text)
    let wide = try? kstrtoull(text)
    // kstrtouint is kstrtoull narrowed: the same value wherever it fits.
    precondition(narrow.map(UInt64.init) == wide.flatMap { $0 <= UInt64(UInt32.max) ? $0 : nil }, "kstrtouint/kstrtoull disagree on \(Array(bytes))")
    if let signed = try? kstrtoint(text) { precondition((try? kstrtoint(String(signed))) == signed) }
    if let based = try? kstrtouint(text, base: 0) { precondition((try? kstrtouint(String(based))) == based) }
    _ = try? kstrtobool(text)
    _ = try? parseNameList(text, among: ["syscall", "demotion", "promotion", "compaction"])
    let attribute = SysfsAttribute.unsigned("n", range: 1...16, get: { 1 }, set: { precondition((1...16).contains($0)) })
    _ = try? attribute.write(UnsafeRawBufferPointer(bytes))
    return 0
}
#else
@main
enum KnobParserFuzzer {
    static func main() {
        print("fuzz-knobs is a libFuzzer target: build and run it with `make libfuzzer`")
    }
}
#endif
