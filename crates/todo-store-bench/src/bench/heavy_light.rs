//! `--heavy-vs-light`: every read shape for the light users and for the
//! heavy ones (the users with the most tasks), alternating, so that the two
//! are measured under the same load of the machine. `heavy_first_page` and
//! `deep_page` read the heavy users' lists by definition: they stay in the
//! main table only.

use std::time::Duration;

use diesel::PgConnection;
use todo_store::{Error, Store};

use super::{
    alternate_two,
    fixture::{Fixture, Population},
    report::{HeavyLightRow, HeavyVsLight, Population as Size},
    sample_reads,
    shape::Shape,
};

/// Whether `shape` reads the heavy users' lists whoever it acts for.
pub fn heavy_by_definition(shape: Shape) -> bool {
    matches!(shape, Shape::HeavyFirstPage | Shape::DeepPage)
}

/// The comparison's report, without rows yet: who the two populations are,
/// and which of `shapes` it skips.
///
/// # Errors
/// A validation failure if either population is empty (a database with no
/// more users than the heavy ones); the library's error.
pub fn prepare(
    conn: &mut PgConnection,
    fixture: &Fixture,
    shapes: &[Shape],
    rounds: u32,
) -> Result<HeavyVsLight, Error> {
    let size = |conn: &mut PgConnection, population| {
        fixture
            .sizes(conn, population)
            .map(|(users, min_tasks, max_tasks)| Size {
                users,
                min_tasks,
                max_tasks,
            })
    };
    let (light, heavy) = (
        size(conn, Population::Light)?,
        size(conn, Population::Heavy)?,
    );
    if light.users == 0 || heavy.users == 0 {
        return Err(Error::validation(
            "heavy_vs_light",
            "needs users with tasks besides the heavy ones (the 10 with the most), \
             and heavy ones with more than a page",
        ));
    }
    Ok(HeavyVsLight {
        rounds,
        light,
        heavy,
        skipped: shapes
            .iter()
            .filter(|shape| heavy_by_definition(**shape))
            .map(|shape| shape.name())
            .collect(),
        rows: Vec::new(),
    })
}

/// The read shape `shape` with `clients` clients for the light users, then
/// the heavy ones, `rounds` times each, the side that goes first changing
/// from round to round; `None` for a shape it skips.
///
/// # Errors
/// The library's error if a call fails.
pub fn measure(
    store: &Store,
    fixture: &Fixture,
    shape: Shape,
    clients: u32,
    duration: Duration,
    seed: u64,
    rounds: u32,
) -> Result<Option<HeavyLightRow>, Error> {
    if !shape.is_read() || heavy_by_definition(shape) {
        return Ok(None);
    }
    let reads = [
        fixture.reads_for(shape, Population::Light),
        fixture.reads_for(shape, Population::Heavy),
    ];
    let summaries = alternate_two(rounds, |i| {
        sample_reads(store, &reads[i], clients, duration, seed)
    })?;
    Ok(summaries.map(|(light, heavy)| HeavyLightRow::new(shape, clients, light, heavy)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_deep_list_shapes_are_heavy_by_definition() {
        let heavy: Vec<&str> = Shape::ALL
            .into_iter()
            .filter(|shape| heavy_by_definition(*shape))
            .map(Shape::name)
            .collect();
        assert_eq!(heavy, ["heavy_first_page", "deep_page"]);
    }
}
