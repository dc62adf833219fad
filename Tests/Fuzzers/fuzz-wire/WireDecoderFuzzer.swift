// libFuzzer entry point for the wire decoder: `make libfuzzer` builds this with
// `--sanitize=fuzzer -DLIBFUZZER`. Every input must decode without crashing, and whatever
// decodes must survive a round trip.
import FolioProtocol

#if LIBFUZZER
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWireDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let (id, request) = try? Request.decode(bytes) {
        precondition((try? Request.decode(request.encode(requestID: id)))?.request == request, "request round trip")
    }
    if let (id, reply) = try? Reply.decode(bytes) {
        precondition((try? Reply.decode(reply.encode(requestID: id)))?.reply == reply, "reply round trip")
    }
    return 0
}
#else
@main
enum WireDecoderFuzzer {
    static func main() {
        print("fuzz-wire is a libFuzzer target: build and run it with `make libfuzzer`")
    }
}
#endif
