//! The README's "Using the library from another crate" section shows
//! `examples/downstream/src/main.rs`, which CI builds and runs outside the
//! workspace (`.ci/run`): the README must show the file as it is.

#[test]
fn readme_shows_the_downstream_example_verbatim() {
    let readme = include_str!("../../README.md");
    let example = include_str!("../../examples/downstream/src/main.rs");
    assert!(
        readme.contains(example),
        "README.md does not contain examples/downstream/src/main.rs verbatim: \
         paste the file into its \"Using the library from another crate\" section"
    );
}
