import FolioMemory
import FolioProtocol
import FolioSharedMemory
import Migration
import SystemPackage

extension TieringPolicy {
    /// One wake of the background thread: age heat when an aggregation interval has passed,
    /// demote where a tier is below `low`, promote when a scan period has passed. Returns how
    /// long to sleep. A shorter interval written to a knob takes effect after the current one.
    func backgroundPass() -> Duration {
        guard enabled else { return Self.idleDelay }
        return passes.withLock { state in
            let now = ContinuousClock.now
            let aggregating = now >= state.nextAggregation
            let scanning = now >= state.nextScan
            if aggregating { state.nextAggregation = now + aggregationInterval }
            if scanning { state.nextScan = now + scanPeriod }
            run(&state, aggregating: aggregating, scanning: scanning, now: now)
            // Until the next of the two is due (at least a millisecond: a pass may overrun).
            return max(min(state.nextAggregation, state.nextScan) - .now, .milliseconds(1))
        }
    }

    /// A whole pass at `now`, whatever the schedule says (what the thread runs when both
    /// intervals have passed; tests call it to step the policy, and pass a later `now` to be a
    /// second on without waiting one).
    func passNow(at now: ContinuousClock.Instant = .now) {
        passes.withLock { run(&$0, aggregating: true, scanning: true, now: now) }
    }

    private func run(_ state: inout PassState, aggregating: Bool, scanning: Bool, now: ContinuousClock.Instant) {
        if aggregating { aggregate() }
        for tier in tiers.indices.dropLast() {
            let level = tiers[tier].watermarks.current
            // Shadows count as free: an allocation takes them back before anything is demoted.
            let free = tiers[tier].availableBytes
            if free < level.low { demote(from: tier, bytes: level.high - free) }
        }
        if scanning { promote(window: &state.window, now: now) }
    }

    /// Ages every space's heat, sets each tier's `hot_bytes`, and frees the shadows of folios
    /// written since their promotion.
    private func aggregate() {
        for tier in tiers { tier.shadows.dropWritten() }
        var hot = [Int](repeating: 0, count: tiers.count)
        for space in trackedSpaces {
            for (tier, bytes) in space.age(hotThreshold: hotThreshold).enumerated() where tier < hot.count { hot[tier] += bytes }
        }
        for (tier, bytes) in hot.enumerated() { tiers[tier].hotBytes = bytes }
        statistics.add([.aggregations: 1])
    }

    /// Direct reclaim: demotes for an allocation, in the allocating thread.
    func demoteDirectly(from tier: Int, bytes: Int) -> Int {
        passes.withLock { _ in
            let moved = demote(from: tier, bytes: bytes)
            statistics.add([.demotedDirect: UInt64(moved.folios)])
            return moved.bytes
        }
    }

    /// Moves the coldest folios of `tier` (of heat below `ceiling`) one tier down, coldest
    /// first, until `wanted` bytes have moved, no candidate is left, or the tier below is full.
    /// Pinned folios stay (EBUSY from the pipeline) and the next coldest are taken instead.
    /// Call with `passes` held.
    @discardableResult
    func demote(from tier: Int, bytes wanted: Int, colderThan ceiling: UInt32 = .max) -> (folios: Int, bytes: Int) {
        let target = tier + 1
        // A full tier below takes nothing: skip ranking every folio only to be refused.
        guard wanted > 0, target < tiers.count, tiers[target].availableBytes >= FolioTableLayout.pageSize else { return (0, 0) }
        var candidates = trackedSpaces.flatMap { space in
            space.heatMap(tier: tier).filter { $0.heat < ceiling }.map { (space: space, folio: $0) }
        }
        candidates.sort { $0.folio.heat < $1.folio.heat }
        var moved = (folios: 0, bytes: 0)
        var next = 0
        while moved.bytes < wanted, next < candidates.count {
            var chosen: [(space: AddressSpace, folio: FolioHeat)] = []
            var bytes = 0
            while bytes < wanted - moved.bytes, next < candidates.count {
                chosen.append(candidates[next])
                bytes += candidates[next].folio.bytes
                next += 1
            }
            let outcome = move(chosen, to: target, reason: .demotion)
            moved.folios += outcome.folios
            moved.bytes += outcome.bytes
            if outcome.targetFull { break }
        }
        statistics.add([.demoted: UInt64(moved.folios), .demotedBytes: UInt64(moved.bytes)])
        return moved
    }

    /// Moves the hottest folios of each slower tier one tier up, while the faster tier keeps
    /// `high` free and the window's rate limit allows. Where the faster tier lacks the room,
    /// its folios colder than half the threshold make it first (the kernel's promotion
    /// watermark); the half is the hysteresis that keeps a folio near the threshold from
    /// going up and down at every scan.
    private func promote(window: inout PromotionWindow, now: ContinuousClock.Instant) {
        let threshold = hotThreshold
        for tier in tiers.indices.dropFirst() {
            var hot = trackedSpaces.flatMap { space in
                space.heatMap(tier: tier).filter { $0.heat >= threshold }.map { (space: space, folio: $0) }
            }
            guard !hot.isEmpty else { continue }
            hot.sort { $0.folio.heat > $1.folio.heat }
            let faster = tiers[tier - 1]
            var budget = window.available(now: now, limitMBps: promoteRateLimitMBps)
            let wanted = hot.prefix { folio in
                defer { budget -= folio.folio.bytes }
                return folio.folio.bytes <= budget
            }
            let bytes = wanted.reduce(0) { $0 + $1.folio.bytes }
            let room = faster.availableBytes - faster.watermarks.current.high
            if room < bytes { demote(from: tier - 1, bytes: bytes - room, colderThan: threshold / 2) }
            var space = faster.availableBytes - faster.watermarks.current.high
            let fitting = wanted.prefix { folio in
                defer { space -= folio.folio.bytes }
                return folio.folio.bytes <= space
            }
            let outcome = move(Array(fitting), to: tier - 1, reason: .promotion)
            window.spend(outcome.bytes)
            statistics.add([.promoted: UInt64(outcome.folios), .promotedBytes: UInt64(outcome.bytes)])
        }
    }

    /// What moving a set of folios did.
    private struct MoveOutcome {
        var folios = 0
        var bytes = 0
        /// Some folio found no room in the target (ENOMEM).
        var targetFull = false
    }

    /// One migration request per space for `chosen`, through the pipeline.
    private func move(_ chosen: [(space: AddressSpace, folio: FolioHeat)], to target: Int, reason: MigrationReason) -> MoveOutcome {
        var outcome = MoveOutcome()
        let bySpace = Dictionary(grouping: chosen) { ObjectIdentifier($0.space) }
        for group in bySpace.values {
            let request = MigrationRequest(handles: group.map(\.folio.handle), targetTier: target, reason: reason)
            guard case .success(let result) = pipeline.migrate(request, in: group[0].space) else { continue }
            for (folio, result) in zip(group, result.results) {
                switch result {
                case .tier(target):
                    outcome.folios += 1
                    outcome.bytes += folio.folio.bytes
                case .failed(.noMemory):
                    outcome.targetFull = true
                default:
                    continue
                }
            }
        }
        return outcome
    }
}
