//! Writing to standard output: without the standard library's line
//! buffering, and in whole lines, continuing after partial writes.

use std::io::{self, IoSlice, Write};

/// Standard output without the standard library's line buffering, which
/// searches every write for its last newline (a pass over a huge message):
/// a duplicate of its file descriptor, or, if none can be made (or on a
/// system without file descriptors), the usual `io::stdout()`. Every write is whole lines, so nothing waits in a buffer.
pub(super) fn unbuffered_stdout() -> Box<dyn Write + Send> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = io::stdout().as_fd().try_clone_to_owned() {
            return Box::new(std::fs::File::from(fd));
        }
    }
    Box::new(io::stdout())
}

/// Writes all of `parts`, in order, to standard output, one `writev` at a
/// time (standard output, not a socket, so not `net::write_fully`). The lines
/// are written from `str`s, so they are valid UTF-8 already and go out
/// without a second pass over them.
pub(super) fn write_out(out: &mut impl Write, mut parts: &mut [IoSlice<'_>]) -> io::Result<()> {
    // Skip empty parts first: with nothing left to write, nothing is called.
    IoSlice::advance_slices(&mut parts, 0);
    while !parts.is_empty() {
        match out.write_vectored(parts) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut parts, n),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}
