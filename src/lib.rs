//! `chat`: a client and a server for the line-based TCP chat protocol of the
//! VU Computer Networks lab. The README describes the layout of the code and
//! how data flows through it; each module's documentation describes its part.
//!
//! The public surface is what the two binaries, the tests and the benchmarks
//! need: [`client::run`] and [`client::Cli`], [`server::bind`], [`server::serve`]
//! (with an optional [`server::Farewell`]), [`server::Config`] and
//! [`server::Cli`], the sans-IO [`protocol`], the
//! socket helpers in [`net`], and the programs' start-up helpers
//! ([`parse_args`], [`give_back_large_buffers`]). Everything else is private
//! to the crate.
//!
//! There are three `unsafe` blocks in the crate: one in the client's
//! `safe_text` (turning bytes just checked to be ASCII into a `str` without
//! checking them a second time), the call to glibc's `mallopt` in
//! [`give_back_large_buffers`], and the `SIOCOUTQ` ioctl in
//! [`net::unacknowledged`]; everything else is safe code, and the lint
//! below keeps it so.

#![deny(unsafe_code)]
#![warn(unreachable_pub)]

pub mod client;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod net;
pub mod protocol;
pub mod server;

/// Makes glibc's allocator give every large buffer back to the system as
/// soon as it is freed, so that memory comes back after large messages; the
/// programs call it first thing. By default glibc maps blocks of 128 KiB and
/// more on their own, but raises that threshold to the size of any such
/// block freed (up to 32 MiB): after one large message, later ones come from
/// its heaps, which keep their pages once freed. Measured: 8 users each
/// sending three 16 MiB messages through `delaybot` left 55% to 81% of the
/// burst resident in `chat-server` for good, and a client kept 16 MiB after
/// two 16 MB messages; with the threshold kept, neither kept anything.
/// Returns whether it was set; elsewhere than glibc there is nothing to set.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn give_back_large_buffers() -> bool {
    /// glibc's own starting threshold, kept from rising.
    const MMAP_THRESHOLD: libc::c_int = 128 * 1024;
    // SAFETY: mallopt only sets one of the allocator's parameters. The
    // programs call it before starting any other thread.
    #[allow(unsafe_code)]
    let set = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
    set == 1
}

/// See the glibc version: elsewhere there is nothing to set.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn give_back_large_buffers() -> bool {
    true
}

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
