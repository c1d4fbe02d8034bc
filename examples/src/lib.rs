//! Library side of the ringlet examples: the pieces their tests drive in-process.

pub mod echo;
