//! Rebuild the crate when a migration changes: `embed_migrations!` reads the
//! folder at compile time, and Cargo would not otherwise notice new files.
//! `migrations` is a link to the workspace's top-level `migrations/` (the
//! folder the `diesel` CLI runs); `cargo package` copies the files behind it,
//! so the packaged crate carries its own.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
