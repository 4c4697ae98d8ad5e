//! The percent-encoding sets of object-store URLs, in one place: what S3, Azure and GCS
//! paths and query values keep as written (RFC 3986's unreserved characters).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

/// A query value or a single path segment: everything but `A-Z a-z 0-9 - . _ ~` is
/// encoded (secret keys hold `/`, `+` and `=`).
pub(crate) const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A path whose `/` separate its segments.
pub(crate) const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

#[cfg(test)]
mod tests {
    use super::*;
    use percent_encoding::utf8_percent_encode;

    #[test]
    fn paths_keep_slashes_and_values_do_not() {
        assert_eq!(
            utf8_percent_encode("a b/c+d~", PATH).to_string(),
            "a%20b/c%2Bd~"
        );
        assert_eq!(
            utf8_percent_encode("a/b+c=d", UNRESERVED).to_string(),
            "a%2Fb%2Bc%3Dd"
        );
    }
}
