//! The chat server.
