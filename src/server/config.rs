//! Server settings.

use std::time::Duration;

/// How the server behaves. `Config::default()` matches `chat-server` without flags.
#[derive(Debug, Clone)]
pub struct Config {
    /// Most logged-in users at once (bots not counted). 0 answers every login with `BUSY`.
    pub max_clients: usize,
    /// Privacy mode: `LIST` answers with the bots' names only.
    pub hide_users: bool,
    /// Run the built-in `echobot` and `delaybot`.
    pub bots: bool,
    /// Longest accepted request line in bytes (without the `\n`). A longer line is
    /// answered with `BAD-RQST-BODY` and skipped.
    pub max_line_bytes: usize,
    /// Most bytes waiting to be sent to one connection. A connection whose queue would
    /// grow beyond this (it does not read) is disconnected.
    pub max_queue_bytes: usize,
    /// How long a connection may take to log in before it is closed; `None`
    /// waits for ever.
    pub login_timeout: Option<Duration>,
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
            login_timeout: Some(Duration::from_secs(60)),
            max_pending_per_address: 64,
        }
    }
}
