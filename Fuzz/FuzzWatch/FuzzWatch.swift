import FuzzChecks

/// Fuzz target `watch` (the checks are in FuzzChecks). `make fuzz` builds it with -DFUZZING as a
/// libFuzzer binary; a normal build is `FuzzWatch [FILE|DIR ...]`, which runs each input
/// through the same checks (default: Fuzz/corpus/watch and Fuzz/regressions/watch) and exits 1
/// when one fails.
@main
enum FuzzWatch {
    static func main() {
        FuzzDriver.main(.watch)
    }
}
