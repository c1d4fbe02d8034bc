//! Procedural macros for ringlet: `#[ringlet::main]`, `#[ringlet::test]`, and the
//! expansions behind `ringlet::select!`, `ringlet::join!` and `ringlet::try_join!`.
//!
//! Use them through the `ringlet` crate, which re-exports them; the `*_inner` macros are
//! called by ringlet's own `macro_rules!` wrappers, which pass `$crate` in so that the
//! expansion names ringlet however the user's crate refers to it.
//!
//! Owns: parsing and expanding those macros. Must not hold runtime logic: expansions
//! call into `ringlet::__private`.

use proc_macro::TokenStream;

mod entry;
mod join;
mod select;

/// Runs an `async fn main` on a ringlet runtime; see `ringlet::main`.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(entry::Kind::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` test on a ringlet runtime; see `ringlet::test`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(entry::Kind::Test, args.into(), item.into()).into()
}

#[doc(hidden)]
#[proc_macro]
pub fn select_inner(input: TokenStream) -> TokenStream {
    select::expand(input.into()).into()
}

#[doc(hidden)]
#[proc_macro]
pub fn join_inner(input: TokenStream) -> TokenStream {
    join::expand(input.into(), false).into()
}

#[doc(hidden)]
#[proc_macro]
pub fn try_join_inner(input: TokenStream) -> TokenStream {
    join::expand(input.into(), true).into()
}
