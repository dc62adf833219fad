import Foundation
import TestSupport
import SystemPackage
import Testing
@testable import FolioProtocol

/// Mutation fuzzing of the wire decoder from the committed corpus (`Corpus/*.bin`): every input
/// decodes to a message that survives a round trip, or fails with an errno. `make fuzz` runs longer.
struct DecoderFuzzTests {
    static let corpus = Mutator.corpus(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus"))

    @Test func corpus_decodesAsCommitted() throws {
        #expect(Self.corpus.count >= 10)
        for seed in Self.corpus {
            let decodes = (try? Request.decode(seed)) != nil || (try? Reply.decode(seed)) != nil
            #expect(decodes)
        }
    }

    @Test func mutatedMessages_decodeToARoundTripOrFailWithAnErrno() {
        var mutator = Mutator(seed: 42, dictionary: ["\u{49}\u{4C}\u{4F}\u{46}", "\u{1}\0", "\u{FF}\u{FF}\u{FF}\u{FF}", "\0\0\0\0"])
        var broken: [[UInt8]] = []
        for round in 0..<Mutator.iterations where broken.count < 5 {
            // The corpus first, as it is (crashes found before stay fixed), then mutations of it.
            let bytes = round < Self.corpus.count ? Self.corpus[round] : mutator.mutate(Self.corpus[round % Self.corpus.count])
            if let (id, request) = try? Request.decode(bytes), (try? Request.decode(request.encode(requestID: id)))?.request != request {
                broken.append(bytes)
            }
            if let (id, reply) = try? Reply.decode(bytes), (try? Reply.decode(reply.encode(requestID: id)))?.reply != reply {
                broken.append(bytes)
            }
        }
        #expect(broken.isEmpty, "\(broken)")
    }
}
