//! One date order for the whole load, from the columns' votes (see `dates.rs`).

use super::tally::{Tally, DATES};
use crate::encode::DateOrder;

/// The load's date order: `forced`, else the order of most columns with numeric dates
/// (on a tie, the first such column's), `None` when no column has any. The date types
/// of columns that cannot be read in it are dropped (they become `text`), each with a
/// note saying why.
pub(super) fn settle(
    names: &[String],
    tallies: &mut [Tally],
    forced: Option<DateOrder>,
) -> (Option<DateOrder>, Vec<String>) {
    if forced.is_some() {
        return (forced, Vec::new());
    }
    let mut notes = Vec::new();
    let mut votes = Vec::new();
    for (i, t) in tallies.iter_mut().enumerate() {
        let d = &t.dates;
        if t.alive & DATES == 0 || d.numeric == 0 {
            continue;
        }
        let name = &names[i];
        match (&d.not_dmy, &d.not_mdy) {
            (None, None) => notes.push(format!(
                "column {name:?} stays text: its dates (such as {:?}) read alike day first \
                 and month first; pass --date-order dmy or --date-order mdy to load them as dates",
                d.first.as_deref().unwrap_or_default()
            )),
            (Some(month_first), Some(day_first)) => notes.push(format!(
                "column {name:?} stays text: its dates are day first in some rows \
                 ({day_first:?}) and month first in others ({month_first:?})"
            )),
            (None, Some(_)) => votes.push((i, DateOrder::Dmy)),
            (Some(_), None) => votes.push((i, DateOrder::Mdy)),
        }
        if !matches!((&d.not_dmy, &d.not_mdy), (None, Some(_)) | (Some(_), None)) {
            t.alive &= !DATES;
        }
    }
    let Some(&(_, first)) = votes.first() else {
        return (None, notes);
    };
    let dmy = votes.iter().filter(|v| v.1 == DateOrder::Dmy).count();
    let mdy = votes.len() - dmy;
    let order = match dmy.cmp(&mdy) {
        std::cmp::Ordering::Greater => DateOrder::Dmy,
        std::cmp::Ordering::Less => DateOrder::Mdy,
        std::cmp::Ordering::Equal => first,
    };
    let agree = if order == DateOrder::Dmy { dmy } else { mdy };
    for &(i, o) in votes.iter().filter(|v| v.1 != order) {
        tallies[i].alive &= !DATES;
        notes.push(format!(
            "column {:?} stays text: its dates are {} but the load reads dates as {} (as \
             {agree} other {}); pass --date-order {o} to read every date column as {}",
            names[i],
            o.pattern(),
            order.pattern(),
            if agree == 1 {
                "column is"
            } else {
                "columns are"
            },
            o.pattern()
        ));
    }
    (Some(order), notes)
}
