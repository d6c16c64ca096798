//! How a command prints its result: as text for people, or as exactly one
//! JSON document with `--json`. Each command defines what it prints, as a
//! [`Report`], and prints it once with [`Format::print`].

use std::io::{self, Write};

use serde::Serialize;

use todo_store_cmd::Failure;

/// The result of a successful command. Its `Serialize` form is the JSON
/// document.
pub trait Report: Serialize {
    /// The result as text for people: whole lines, each ending in a newline.
    fn text(&self) -> String;
}

/// A value under a heading that says what just happened to it, e.g.
/// "Created task:". The JSON document is the value alone.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Headed<T> {
    #[serde(skip)]
    heading: &'static str,
    value: T,
}

impl<T> Headed<T> {
    /// `value` under `heading` (without the colon).
    pub fn new(heading: &'static str, value: T) -> Self {
        Self { heading, value }
    }
}

impl<T: Report> Report for Headed<T> {
    fn text(&self) -> String {
        format!("{}:\n{}", self.heading, self.value.text())
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Text for people.
    Text,
    /// Exactly one JSON document (`--json`).
    Json,
}

impl Format {
    /// Prints `report` on stdout.
    ///
    /// # Errors
    /// "cannot write output" if stdout cannot be written.
    pub fn print(self, report: &impl Report) -> Result<(), Failure> {
        match self.write(report) {
            Ok(()) => Ok(()),
            // The reader went away (`todo-store task list | head`): not our failure.
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            Err(err) => Err(Failure::other(format!("cannot write output: {err}"))),
        }
    }

    fn write(self, report: &impl Report) -> io::Result<()> {
        let mut out = io::stdout().lock();
        match self {
            Format::Json => {
                serde_json::to_writer_pretty(&mut out, report)?;
                writeln!(out)?;
            }
            Format::Text => out.write_all(report.text().as_bytes())?,
        }
        out.flush()
    }
}
