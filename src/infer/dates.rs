//! Dates written with numeric fields (`13/01/2024`, `01.02.2024`, `1-2-2024 10:00`): which
//! order a column's dates are in, and one order for the whole load.
//!
//! Nothing is guessed: a column is a date column only when every value is a date under
//! one order and some value is not under the other (a day above 12 first, or second). A
//! column that reads alike both ways (`01/02/2024` only), or is day first in one row and
//! month first in another, stays `text`, as do the columns whose order is not the one
//! most columns have (the load reads all its dates in one order). Each is said in a note.
//! `--date-order` decides instead, for every column.

use crate::encode::{iso_date, split_date, DateOrder};

/// What one column's numeric dates say about their order.
#[derive(Debug, Clone, Default)]
pub(super) struct DateVotes {
    /// Values with a numeric date (all of them fit some order while the column can
    /// still be a date column).
    pub numeric: u64,
    /// The first such value.
    pub first: Option<String>,
    /// The first value that is no date read day first (so it is month first).
    pub not_dmy: Option<String>,
    /// The first value that is no date read month first (so it is day first).
    pub not_mdy: Option<String>,
}

const EITHER: [DateOrder; 2] = [DateOrder::Dmy, DateOrder::Mdy];

impl DateVotes {
    /// The date types `v` fits, as `fits` judges an ISO date: as written, or as a
    /// numeric date in the `forced` order, else in either of DMY and MDY (which one is
    /// noted).
    pub(super) fn observe(
        &mut self,
        v: &[u8],
        forced: Option<DateOrder>,
        iso: &mut Vec<u8>,
        fits: &mut dyn FnMut(&[u8]) -> u16,
    ) -> u16 {
        if split_date(v, forced.unwrap_or(DateOrder::Dmy)).is_none() {
            return fits(v);
        }
        self.numeric += 1;
        self.first
            .get_or_insert_with(|| String::from_utf8_lossy(v).into_owned());
        let forced_one;
        let orders: &[DateOrder] = match forced {
            Some(o) => {
                forced_one = [o];
                &forced_one
            }
            None => &EITHER,
        };
        let mut all = 0;
        for &order in orders {
            iso.clear();
            iso_date(v, order, iso);
            let f = fits(iso);
            if f == 0 && forced.is_none() {
                let slot = match order {
                    DateOrder::Dmy => &mut self.not_dmy,
                    _ => &mut self.not_mdy,
                };
                slot.get_or_insert_with(|| String::from_utf8_lossy(v).into_owned());
            }
            all |= f;
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::super::{infer, InferOptions, Inferred};
    use crate::encode::DateOrder;
    use crate::source::{Dialect, RecordReader};

    fn run(csv: &str, order: Option<DateOrder>) -> Inferred {
        let mut r = RecordReader::new("t.csv", csv.as_bytes(), Dialect::default());
        let header = r.read_header().unwrap().unwrap_or_default();
        let opts = InferOptions {
            sample_rows: None,
            date_order: order,
            ..InferOptions::default()
        };
        infer(&mut r, &header, &opts).unwrap()
    }

    fn types(csv: &str, order: Option<DateOrder>) -> (Vec<&'static str>, Option<DateOrder>) {
        let inf = run(csv, order);
        (
            inf.columns.iter().map(|c| c.type_name).collect(),
            inf.date_order,
        )
    }

    #[test]
    fn a_day_above_12_first_makes_a_dmy_column() {
        let csv = "d\n13/01/2024\n01/02/2024\n31.12.1999\n";
        assert_eq!(types(csv, None), (vec!["date"], Some(DateOrder::Dmy)));
        let csv = "d\n01/13/2024\n02/01/2024\n";
        assert_eq!(types(csv, None), (vec!["date"], Some(DateOrder::Mdy)));
        // With times, and ISO values mixed in.
        let csv = "t\n13-01-2024 10:00\n2024-02-01 11:30:00\n01-02-2024T09:00\n";
        assert_eq!(types(csv, None), (vec!["timestamp"], Some(DateOrder::Dmy)));
        let csv = "t\n13/01/2024 10:00+02\n";
        assert_eq!(
            types(csv, None),
            (vec!["timestamptz"], Some(DateOrder::Dmy))
        );
        // ISO alone needs no order.
        assert_eq!(types("d\n2024-01-13\n", None), (vec!["date"], None));
    }

    #[test]
    fn ambiguous_or_mixed_columns_stay_text_with_a_note() {
        let inf = run("d\n01/02/2024\n03/04/2024\n", None);
        assert_eq!((inf.columns[0].type_name, inf.date_order), ("text", None));
        assert!(
            inf.notes[0].contains("read alike day first and month first"),
            "{:?}",
            inf.notes
        );
        assert!(inf.notes[0].contains("--date-order"), "{:?}", inf.notes);
        let inf = run("d\n13/01/2024\n01/13/2024\n", None);
        assert_eq!(inf.columns[0].type_name, "text");
        assert!(
            inf.notes[0].contains("day first in some rows (\"13/01/2024\") and month first in others (\"01/13/2024\")"),
            "{:?}",
            inf.notes
        );
        // A value that is no date in either order: text, nothing to note.
        let inf = run("d\n13/13/2024\n", None);
        assert_eq!((inf.columns[0].type_name, inf.notes.len()), ("text", 0));
        // Two-digit years are not read.
        assert_eq!(types("d\n13/01/24\n", None), (vec!["text"], None));
    }

    #[test]
    fn the_given_order_decides_every_column() {
        let csv = "a,b\n01/02/2024,13/01/2024\n03/04/2024,14/01/2024\n";
        assert_eq!(
            types(csv, Some(DateOrder::Dmy)),
            (vec!["date", "date"], Some(DateOrder::Dmy))
        );
        // Under MDY the day-first column is no date.
        assert_eq!(
            types(csv, Some(DateOrder::Mdy)),
            (vec!["date", "text"], Some(DateOrder::Mdy))
        );
        let ymd = "d\n2024/01/13\n2024.02.01\n";
        assert_eq!(
            types(ymd, Some(DateOrder::Ymd)),
            (vec!["date"], Some(DateOrder::Ymd))
        );
        assert_eq!(types(ymd, None), (vec!["text"], None));
        assert!(run(csv, Some(DateOrder::Dmy)).notes.is_empty());
    }

    #[test]
    fn columns_in_the_minority_order_stay_text() {
        let csv = "a,b,c\n13/01/2024,14/01/2024,01/13/2024\n01/02/2024,01/03/2024,02/01/2024\n";
        let inf = run(csv, None);
        let got: Vec<_> = inf.columns.iter().map(|c| c.type_name).collect();
        assert_eq!(got, vec!["date", "date", "text"]);
        assert_eq!(inf.date_order, Some(DateOrder::Dmy));
        assert_eq!(inf.notes.len(), 1);
        assert!(
            inf.notes[0].starts_with("column \"c\" stays text: its dates are MM/DD/YYYY but the load reads dates as DD/MM/YYYY (as 2 other columns are)"),
            "{:?}",
            inf.notes
        );
        // On a tie, the first column's order.
        let csv = "a,b\n01/13/2024,13/01/2024\n";
        let inf = run(csv, None);
        assert_eq!(inf.date_order, Some(DateOrder::Mdy));
        let got: Vec<_> = inf.columns.iter().map(|c| c.type_name).collect();
        assert_eq!(got, vec!["date", "text"]);
    }
}
