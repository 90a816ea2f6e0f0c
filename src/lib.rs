//! `chat`: a client and a server for the line-based TCP chat protocol of the
//! VU Computer Networks lab.
//!
//! Data flows one way through the layers:
//!
//! ```text
//! socket bytes -> protocol::LineFramer -> protocol::ServerMessage
//!              -> client::Session event -> client::render -> terminal
//! typed line   -> client::Command -> protocol::ClientMessage -> net::write_fully -> socket
//! ```
//!
//! The server (`server`) uses the same protocol module in the other direction.

pub mod client;
#[doc(hidden)]
pub mod fuzzing;
pub mod net;
pub mod protocol;
pub mod server;
