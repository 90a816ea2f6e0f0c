//! The chat protocol, sans-IO: no sockets, no terminal, no clocks.
//!
//! - [`framing`] turns a byte stream into lines.
//! - [`message`] turns lines into typed messages and back.
//!
//! Both the client and the server use this module, so they can never disagree
//! on the wire format, and everything here is testable with plain byte slices.

pub mod framing;
pub mod message;

pub use framing::{Frame, LineFramer};
pub use message::{ClientMessage, ServerMessage};
