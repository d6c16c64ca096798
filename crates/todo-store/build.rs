//! Rebuild the crate when a migration changes: `embed_migrations!` reads the
//! folder at compile time, and Cargo would not otherwise notice new files.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
