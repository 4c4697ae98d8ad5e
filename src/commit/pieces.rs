//! Which rows of a chunk to send next: the commit policy apart from any I/O. Both the
//! database sink and the check sink send a chunk as pieces from here, so the halving that
//! isolates a bad row (or fits a transaction that was too large) is written once.

use std::collections::VecDeque;

/// The rows `[lo, lo + n)` of a chunk, sent as one statement in one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowRange {
    /// The first row, by index in the chunk.
    pub(crate) lo: u32,
    /// How many rows (at least 1).
    pub(crate) n: u32,
}

/// The pieces of a chunk still to send, in row order. A piece that fails on a bad row
/// comes back as its two halves, first half first, so one bad row among `n` stands alone
/// after about `2 log2 n` sends and every good row still commits, in order.
#[derive(Debug)]
pub(crate) struct Pieces {
    queue: VecDeque<RowRange>,
}

impl Pieces {
    /// The rows `[0, rows)` as one piece (none for an empty chunk).
    pub(crate) fn whole(rows: u32) -> Pieces {
        let mut queue = VecDeque::new();
        if rows > 0 {
            queue.push_back(RowRange { lo: 0, n: rows });
        }
        Pieces { queue }
    }

    /// The next piece to send, at most `cap` rows (0: no cap): a larger one is cut into
    /// pieces of `cap` rows first (the server refused a piece that size before).
    pub(crate) fn next(&mut self, cap: u32) -> Option<RowRange> {
        let p = self.queue.pop_front()?;
        if cap == 0 || p.n <= cap {
            return Some(p);
        }
        let end = p.lo + p.n;
        let mut at = end - (p.n - 1) % cap - 1;
        // Pushed back to front from the last, so the first comes out next.
        loop {
            self.queue.push_front(RowRange {
                lo: at,
                n: cap.min(end - at),
            });
            if at == p.lo {
                break;
            }
            at -= cap;
        }
        self.queue.pop_front()
    }

    /// `p` failed as a whole: its halves are sent next, first half first. A single row
    /// cannot be halved: false, and the caller rejects it or fails.
    pub(crate) fn halve(&mut self, p: RowRange) -> bool {
        if p.n < 2 {
            return false;
        }
        let half = p.n / 2;
        self.queue.push_front(RowRange {
            lo: p.lo + half,
            n: p.n - half,
        });
        self.queue.push_front(RowRange { lo: p.lo, n: half });
        true
    }

    /// `p` did not commit (its connection was lost): it is sent again, next.
    pub(crate) fn again(&mut self, p: RowRange) {
        self.queue.push_front(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Sends every piece, failing those holding a bad row (halving them) and rejecting a
    /// bad row alone: the rows committed, the rows rejected and the sends it took.
    fn run(rows: u32, bad: &[u32], cap: u32) -> (Vec<u32>, Vec<u32>, usize) {
        let (mut committed, mut rejected, mut sends) = (Vec::new(), Vec::new(), 0);
        let mut pieces = Pieces::whole(rows);
        while let Some(p) = pieces.next(cap) {
            sends += 1;
            assert!(cap == 0 || p.n <= cap, "{p:?} over the cap {cap}");
            let range = p.lo..p.lo + p.n;
            if bad.iter().any(|b| range.contains(b)) {
                if !pieces.halve(p) {
                    rejected.push(p.lo);
                }
            } else {
                committed.extend(range);
            }
        }
        (committed, rejected, sends)
    }

    #[test]
    fn one_bad_row_is_isolated_in_about_two_log2_n_sends() {
        let (committed, rejected, sends) = run(1024, &[700], 0);
        assert_eq!(rejected, [700]);
        assert_eq!(committed.len(), 1023);
        assert!(sends <= 2 * 10 + 1, "{sends} sends");
    }

    #[test]
    fn a_cap_cuts_pieces_before_they_are_sent_in_row_order() {
        let mut p = Pieces::whole(10);
        let got: Vec<RowRange> = std::iter::from_fn(|| p.next(4)).collect();
        let want = [(0, 4), (4, 4), (8, 2)].map(|(lo, n)| RowRange { lo, n });
        assert_eq!(got, want);
        assert!(Pieces::whole(0).next(0).is_none());
    }

    #[test]
    fn a_lost_piece_comes_again_first() {
        let mut p = Pieces::whole(8);
        let first = p.next(0).unwrap();
        assert!(p.halve(first));
        let left = p.next(0).unwrap();
        p.again(left);
        assert_eq!(p.next(0), Some(left));
        assert_eq!(p.next(0), Some(RowRange { lo: 4, n: 4 }));
        assert!(!p.halve(RowRange { lo: 3, n: 1 }));
    }

    proptest! {
        /// Every good row commits exactly once and in order, every bad row is rejected
        /// once, whatever the chunk, the bad rows and the cap.
        #[test]
        fn every_row_is_committed_or_rejected_once_in_order(
            rows in 0u32..300,
            bad in proptest::collection::btree_set(0u32..300, 0..12),
            cap in 0u32..40,
        ) {
            let bad: Vec<u32> = bad.into_iter().filter(|b| *b < rows).collect();
            let (committed, rejected, _) = run(rows, &bad, cap);
            let good: Vec<u32> = (0..rows).filter(|r| !bad.contains(r)).collect();
            prop_assert_eq!(committed, good);
            prop_assert_eq!(rejected, bad);
        }
    }
}
