import FuzzChecks

/// Fuzz target `index` (the checks are in FuzzChecks). `make fuzz` builds it with -DFUZZING as a
/// libFuzzer binary; a normal build is `FuzzIndex [FILE|DIR ...]`, which runs each input
/// through the same checks (default: Fuzz/corpus/index and Fuzz/regressions/index) and exits 1
/// when one fails.
@main
enum FuzzIndex {
    static func main() {
        FuzzDriver.main(.index)
    }
}
