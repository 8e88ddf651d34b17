import FuzzChecks

/// Fuzz target `manifest` (the checks are in FuzzChecks). `make fuzz` builds it with -DFUZZING as a
/// libFuzzer binary; a normal build is `FuzzManifest [FILE|DIR ...]`, which runs each input
/// through the same checks (default: Fuzz/corpus/manifest and Fuzz/regressions/manifest) and exits 1
/// when one fails.
@main
enum FuzzManifest {
    static func main() {
        FuzzDriver.main(.manifest)
    }
}
