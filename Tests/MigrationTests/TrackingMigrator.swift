import Foundation
import Synchronization
import SystemPackage
@testable import Migration

/// A real copier that also checks the slot's promises: it must never copy while inactive, and
/// must never be activated or deactivated while a batch is inside it. It fails every
/// `failEvery`-th folio it is given so that the fallback runs too.
final class TrackingMigrator: Migrator {
    let name: String
    let stats = MigratorStats()
    let failEvery: Int
    let activationError: Errno?
    let inFlight = Atomic<Int>(0)
    let isActive = Atomic<Bool>(false)
    let violations = Atomic<Int>(0)
    let activations = Atomic<Int>(0)

    init(_ name: String, failEvery: Int = 0, activationError: Errno? = nil) {
        self.name = name
        self.failEvery = failEvery
        self.activationError = activationError
    }

    func activate() throws(Errno) {
        if let activationError { throw activationError }
        if inFlight.load(ordering: .sequentiallyConsistent) != 0 { violations.add(1, ordering: .relaxed) }
        activations.add(1, ordering: .relaxed)
        isActive.store(true, ordering: .sequentiallyConsistent)
    }

    func deactivate() {
        if inFlight.load(ordering: .sequentiallyConsistent) != 0 { violations.add(1, ordering: .relaxed) }
        isActive.store(false, ordering: .sequentiallyConsistent)
    }

    func copy(_ folios: UnsafeBufferPointer<FolioCopy>, copied: UnsafeMutableBufferPointer<Bool>) {
        inFlight.add(1, ordering: .sequentiallyConsistent)
        defer { inFlight.subtract(1, ordering: .sequentiallyConsistent) }
        if !isActive.load(ordering: .sequentiallyConsistent) { violations.add(1, ordering: .relaxed) }
        for index in folios.indices {
            if failEvery > 0 && index % failEvery == failEvery - 1 { continue }
            folios[index].copy()
            copied[index] = true
            // Widen the window in which a swap could wrongly overlap this batch.
            sched_yield()
        }
        if !isActive.load(ordering: .sequentiallyConsistent) { violations.add(1, ordering: .relaxed) }
    }
}
