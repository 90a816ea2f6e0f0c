//! `chat`: a client and a server for the line-based TCP chat protocol of the
//! VU Computer Networks lab. The README describes the layout of the code and
//! how data flows through it; each module's documentation describes its part.
//!
//! The public surface is what the two binaries, the tests and the benchmarks
//! need: [`client::run`] and [`client::Cli`], [`server::bind`], [`server::serve`]
//! (with an optional [`server::Farewell`]), [`server::Config`] and
//! [`server::Cli`], the sans-IO [`protocol`], and the
//! socket helpers in [`net`]. Everything else is private to the crate.
//!
//! There is one `unsafe` block in the crate, in the client's `safe_text`
//! (turning bytes just checked to be ASCII into a `str` without checking them
//! a second time); everything else is safe code, and the lint below keeps it so.

#![deny(unsafe_code)]
#![warn(unreachable_pub)]

pub mod client;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod net;
pub mod protocol;
pub mod server;

/// Parses the command line into `T`. `--help` and `--version`, and mistakes,
/// are printed the way clap words them, and come back as the exit status to return
/// from `main` (0 for help and version, 2 for a mistake): the programs end by
/// returning from `main`, never by exiting from inside a library.
pub fn parse_args<T: clap::Parser>() -> Result<T, std::process::ExitCode> {
    T::try_parse().map_err(|err| {
        let _ = err.print();
        if err.use_stderr() {
            std::process::ExitCode::from(2)
        } else {
            std::process::ExitCode::SUCCESS
        }
    })
}
