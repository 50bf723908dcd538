//! Biometric check benchmarks (being written).
fn main() {}
