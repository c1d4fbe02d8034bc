//! Library side of the ringlet examples: the pieces their tests drive in-process.

pub mod accept;
pub mod chat;
pub mod cli;
pub mod echo;
pub mod http;
pub mod hyper_app;
pub mod stats;
pub mod tls;
