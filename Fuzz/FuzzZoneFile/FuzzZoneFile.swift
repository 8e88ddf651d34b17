import FuzzChecks

/// Fuzz target `zonefile` (the checks are in FuzzChecks). `make fuzz` builds it with -DFUZZING as a
/// libFuzzer binary; a normal build is `FuzzZoneFile [FILE|DIR ...]`, which runs each input
/// through the same checks (default: Fuzz/corpus/zonefile and Fuzz/regressions/zonefile) and exits 1
/// when one fails.
@main
enum FuzzZoneFile {
    static func main() {
        FuzzDriver.main(.zonefile)
    }
}
