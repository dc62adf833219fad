/// How a tier's memory is backed (DESIGN.md §3). An unavailable mode is an error, never a silent
/// downgrade.
public enum HugePageMode: String, Sendable, CaseIterable {
    /// Base pages.
    case none
    /// Transparent huge pages on shmem, where `shmem_enabled` allows `madvise`.
    case thp
    /// hugetlbfs pages, where huge pages are reserved.
    case hugetlb
}
