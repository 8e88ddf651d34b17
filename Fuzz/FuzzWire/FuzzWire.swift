import FuzzChecks

/// Fuzz target `wire` (the checks are in FuzzChecks). `make fuzz` builds it with -DFUZZING as a
/// libFuzzer binary; a normal build is `FuzzWire [FILE|DIR ...]`, which runs each input
/// through the same checks (default: Fuzz/corpus/wire and Fuzz/regressions/wire) and exits 1
/// when one fails.
@main
enum FuzzWire {
    static func main() {
        FuzzDriver.main(.wire)
    }
}
