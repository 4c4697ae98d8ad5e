//! Helpers for the unit tests only.

/// A seeded xorshift64 stream for the random equality tests: fast in debug builds and
/// repeatable, so a failure shows again with the same seed.
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}
