//! This module contains extensions that are added to core types to aid in
//! building expressions. These traits are not exported by default. The are also
//! re-exported in `diesel::dsl`
mod interval_dsl;
mod only_dsl;
mod tablesample_dsl;

pub use self::interval_dsl::IntervalDsl;
pub use self::only_dsl::OnlyDsl;
pub use self::tablesample_dsl::TablesampleDsl;
