import FolioClient
import TestSupport
import Foundation
import Testing

/// foliod speaks the notify protocol itself: READY=1 only once the tree and the socket answer,
/// WATCHDOG=1 when asked for, STOPPING=1 on SIGTERM.
@Suite(.serialized)
struct SystemdNotifyTests {
    @Test(arguments: ["path", "abstract"])
    func notify_readyAfterTheMountAnswers_watchdog_thenStoppingOnSIGTERM(kind: String) throws {
        let name = kind == "path" ? "/tmp/foliod-notify-\(UUID().uuidString.prefix(8))" : "@foliod-notify-\(UUID().uuidString.prefix(8))"
        let notify = try NotifySocket(name: name)
        let daemon = try RunningDaemon(environment: ["NOTIFY_SOCKET": name, "WATCHDOG_USEC": "200000"], waitForStart: false)
        var messages: [String] = []
        var mountAnsweredAtReady = false
        while let message = notify.receive(timeout: 10) {
            messages.append(message)
            if message.contains("READY=1") {
                mountAnsweredAtReady = daemon.mountAnswers && (try? FolioClient(socketPath: daemon.socket)) != nil
                break
            }
        }
        #expect(messages.last?.contains("READY=1") == true)
        #expect(messages.last?.contains("STATUS=migrator kernel") == true)
        #expect(mountAnsweredAtReady)
        #expect(notify.receive(timeout: 2)?.contains("WATCHDOG=1") == true)
        try "dcbm".write(toFile: daemon.mountpoint + "/migration/offload_migrator", atomically: false, encoding: .utf8)
        var sawStatus = false
        for _ in 0..<10 where !sawStatus { sawStatus = notify.receive(timeout: 1)?.contains("STATUS=migrator dcbm") == true }
        #expect(sawStatus)
        kill(daemon.process.processIdentifier, SIGTERM)
        var stopping = false
        while !stopping, let message = notify.receive(timeout: 5) { stopping = message.contains("STOPPING=1") }
        #expect(stopping)
        #expect(daemon.terminate() == 0)
    }
}
