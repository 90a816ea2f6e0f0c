//! The chat client: session core, command parser, rendering and front ends.

pub mod text;
