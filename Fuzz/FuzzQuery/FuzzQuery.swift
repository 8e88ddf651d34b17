import FuzzChecks

/// Fuzz target `query` (the checks are in FuzzChecks). `make fuzz` builds it with -DFUZZING as a
/// libFuzzer binary; a normal build is `FuzzQuery [FILE|DIR ...]`, which runs each input
/// through the same checks (default: Fuzz/corpus/query and Fuzz/regressions/query) and exits 1
/// when one fails.
@main
enum FuzzQuery {
    static func main() {
        FuzzDriver.main(.query)
    }
}
