//! The checks run by the fuzz targets (`fuzz/fuzz_targets/*.rs`) and, without
//! libFuzzer, by `tests/fuzz_corpus.rs` on every file of `fuzz/corpus/`.
//!
//! Each function takes the raw fuzzer input, drives one part of the library
//! with it and panics when an invariant does not hold. Keeping them here, in
//! the library, means the fuzz targets are one line each and the corpus replay
//! test checks exactly what the fuzzer checked.
//!
//! Not part of the public API: hidden from the documentation, may change at any
//! time.
//!
//! One module per part: `framing` (the line framer against a model),
//! `messages` (parsing and encoding both ways), `session` (the client's
//! session and rendering).

mod framing;
mod messages;
mod session;

pub use framing::framing;
pub use messages::{parse_client, parse_server};
pub use session::client_session;

/// A fuzz target's check: panics when an invariant does not hold.
pub type Check = fn(&[u8]);

/// The fuzz targets, by name (the folder names under `fuzz/corpus/`), with
/// their checks.
pub const TARGETS: &[(&str, Check)] = &[
    ("framing", framing),
    ("parse_client", parse_client),
    ("parse_server", parse_server),
    ("client_session", client_session),
];

/// Reads the input from the front, a byte or a slice at a time; reads past the
/// end give zeros and empty slices.
struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let (taken, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        taken
    }
}
