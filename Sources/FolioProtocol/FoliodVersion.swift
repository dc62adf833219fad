/// The release of foliod this build is, shown by `foliod --version` and `folioctl --version`.
public enum FoliodVersion {
    public static let release = "0.4.0"
}
