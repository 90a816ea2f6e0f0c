//! Server settings ([`Config`]) and the command line of `chat-server`
//! ([`Cli`]), which turns into a `Config` in one place ([`Cli::config`]).

use std::time::Duration;

use super::connection::MAX_NAME_BYTES;
use clap::Parser;

/// How the server behaves. `Config::default()` matches `chat-server` without flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Most logged-in users at once (bots not counted). 0 answers every login with `BUSY`.
    pub max_clients: usize,
    /// Privacy mode: `LIST` answers with the bots' names only.
    pub hide_users: bool,
    /// Run the built-in `echobot` and `delaybot`.
    pub bots: bool,
    /// Longest accepted request line in bytes (without the `\n`). A longer line is
    /// answered with `BAD-RQST-BODY` and skipped. The command line takes no
    /// less than [`MIN_LINE_BYTES`].
    pub max_line_bytes: usize,
    /// Most bytes waiting to be sent to one connection. A message from another
    /// user that finds the queue fuller is still queued, but its sender's
    /// next request waits until there is room again.
    pub max_queue_bytes: usize,
    /// A connection that keeps someone waiting (it is over `max_queue_bytes`,
    /// so its senders wait, or its own requests wait for their replies) and
    /// whose socket has taken nothing for this long is disconnected (it does
    /// not read). "Taken" is judged from the kernel's send queue where the
    /// platform tells (Linux).
    pub stall_timeout: Duration,
    /// How long a connection may take to log in before it is closed; `None`
    /// waits for ever.
    pub login_timeout: Option<Duration>,
    /// Most connections that have not logged in yet, over all addresses; 0
    /// means no limit.
    pub max_pending: usize,
    /// Most connections that have not logged in yet, per client address; 0
    /// means no limit.
    pub max_pending_per_address: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_clients: 300,
            hide_users: false,
            bots: true,
            max_line_bytes: 16 * 1024 * 1024,
            max_queue_bytes: 64 * 1024 * 1024,
            stall_timeout: Duration::from_secs(10),
            login_timeout: Some(Duration::from_secs(60)),
            max_pending: 1024,
            max_pending_per_address: 64,
        }
    }
}

/// The shortest `--max-line-bytes`: the longest request that must fit,
/// `SEND`, a space, the longest name, a space and a one-byte message (every
/// other request after login is shorter).
pub const MIN_LINE_BYTES: usize = "SEND ".len() + MAX_NAME_BYTES + " x".len();

/// Parses `--max-line-bytes`, refusing a limit below [`MIN_LINE_BYTES`].
fn line_limit(text: &str) -> Result<usize, String> {
    let limit: usize = text.parse().map_err(|e| format!("{e}"))?;
    if limit < MIN_LINE_BYTES {
        return Err(format!(
            "at least {MIN_LINE_BYTES} bytes are needed to carry a one-byte message \
             to a user with the longest name ({MAX_NAME_BYTES} bytes)"
        ));
    }
    Ok(limit)
}

/// Seconds as the command line gives them: 0 means "no limit".
fn seconds(limit: Option<Duration>) -> u64 {
    limit.map_or(0, |d| d.as_secs())
}

/// A chat server for the VU Computer Networks chat protocol.
///
/// Prints `Server is on. Now listening on port <port>` on standard output once
/// it accepts connections, logs to standard error, and stops cleanly on Ctrl-C
/// or SIGTERM (status 0) or SIGHUP (status 129). The built-in `echobot` sends
/// every message back to its sender; `delaybot` sends it back twice, cut into
/// pieces half a second apart.
#[derive(Debug, Clone, Parser)]
#[command(name = "chat-server", version)]
pub struct Cli {
    /// Address to listen on: an IP address or a host name (the first address
    /// it resolves to is used).
    #[arg(long, value_name = "HOST", default_value = crate::net::DEFAULT_ADDRESS, value_parser = crate::net::host_argument)]
    pub address: String,

    /// TCP port to listen on. 0 picks a free port; the startup line shows which.
    #[arg(long, value_name = "PORT", default_value_t = crate::net::DEFAULT_PORT)]
    pub port: u16,

    /// Most users logged in at once (the bots do not count). Further logins
    /// get BUSY. 0 makes every login BUSY.
    #[arg(long, value_name = "N", default_value_t = Config::default().max_clients)]
    pub max_clients: usize,

    /// Privacy mode: LIST answers with the bots' names only.
    #[arg(long)]
    pub hide_users: bool,

    /// Do not run the built-in echobot and delaybot.
    #[arg(long)]
    pub no_bots: bool,

    /// Longest request line accepted after login, in bytes (without the
    /// newline), at least 262 (a one-byte message to a 255-byte name). A
    /// longer line is answered with BAD-RQST-BODY and discarded. (The first
    /// line, before login, may be 1 KiB at most, whatever this says; longer,
    /// it ends the connection.)
    #[arg(long, value_name = "N", value_parser = line_limit,
          default_value_t = Config::default().max_line_bytes)]
    pub max_line_bytes: usize,

    /// Most bytes waiting to be sent to one user. A message to a user whose
    /// queue is fuller is still delivered, but its sender's next request is
    /// read only once there is room again; a user over this that takes
    /// nothing for --stall-timeout is disconnected.
    #[arg(long, value_name = "N", default_value_t = Config::default().max_queue_bytes)]
    pub max_queue_bytes: usize,

    /// Seconds a user may take nothing (on Linux: its socket's send queue
    /// does not shrink) while it keeps someone waiting, before it is
    /// disconnected and its name freed: while it is over --max-queue-bytes,
    /// or more than 256 KiB of replies to its own requests wait (its
    /// requests are not read meanwhile). 0 disconnects it as soon as it is
    /// over.
    #[arg(long, value_name = "SECS",
          default_value_t = Config::default().stall_timeout.as_secs())]
    pub stall_timeout: u64,

    /// Seconds a connection may take to log in before it is closed; 0 waits
    /// for ever.
    #[arg(long, value_name = "SECS", default_value_t = seconds(Config::default().login_timeout))]
    pub login_timeout: u64,

    /// Most connections that have not logged in yet, from all addresses
    /// together; further ones are closed at once. 0 means no limit.
    #[arg(long, value_name = "N", default_value_t = Config::default().max_pending)]
    pub max_pending: usize,

    /// Most connections from one address that have not logged in yet; further
    /// ones are closed at once. 0 means no limit.
    #[arg(long, value_name = "N",
          default_value_t = Config::default().max_pending_per_address)]
    pub max_pending_per_address: usize,

    /// Threads that serve the connections; 0 means one per core.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// Log only errors.
    #[arg(long)]
    pub quiet: bool,
}

impl Cli {
    /// The settings these flags ask for.
    pub fn config(&self) -> Config {
        Config {
            max_clients: self.max_clients,
            hide_users: self.hide_users,
            bots: !self.no_bots,
            max_line_bytes: self.max_line_bytes,
            max_queue_bytes: self.max_queue_bytes,
            stall_timeout: Duration::from_secs(self.stall_timeout),
            login_timeout: (self.login_timeout > 0)
                .then(|| Duration::from_secs(self.login_timeout)),
            max_pending: self.max_pending,
            max_pending_per_address: self.max_pending_per_address,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_flags_is_the_default_config() {
        let cli = Cli::try_parse_from(["chat-server"]).unwrap();
        assert_eq!((cli.address.as_str(), cli.port), ("127.0.0.1", 5378));
        assert_eq!(cli.config(), Config::default());
    }

    #[test]
    fn flags_become_settings() {
        let cli = Cli::try_parse_from([
            "chat-server",
            "--max-clients=3",
            "--hide-users",
            "--no-bots",
            "--max-line-bytes=300",
            "--max-queue-bytes=20",
            "--stall-timeout=2",
            "--login-timeout=0",
            "--max-pending=5",
            "--max-pending-per-address=4",
        ])
        .unwrap();
        let config = cli.config();
        assert_eq!(config.max_clients, 3);
        assert!(config.hide_users && !config.bots);
        assert_eq!((config.max_line_bytes, config.max_queue_bytes), (300, 20));
        assert_eq!(config.stall_timeout, Duration::from_secs(2));
        assert_eq!(config.login_timeout, None);
        assert_eq!((config.max_pending, config.max_pending_per_address), (5, 4));
        let cli = Cli::try_parse_from(["chat-server", "--max-line-bytes=262"]).unwrap();
        assert_eq!(cli.config().max_line_bytes, MIN_LINE_BYTES);
        let cli = Cli::try_parse_from(["chat-server", "--login-timeout", "5"]).unwrap();
        assert_eq!(cli.config().login_timeout, Some(Duration::from_secs(5)));
    }

    #[test]
    fn a_line_limit_too_short_for_a_request_is_refused() {
        assert_eq!(MIN_LINE_BYTES, 262);
        for short in ["0", "3", "261"] {
            let e = Cli::try_parse_from(["chat-server", "--max-line-bytes", short]).unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation);
            assert!(e.to_string().contains("at least 262 bytes"), "{e}");
        }
    }
}
