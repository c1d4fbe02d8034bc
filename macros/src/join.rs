//! `join!` and `try_join!`: run a fixed set of futures concurrently inside the calling
//! task and return all their outputs as a tuple (`try_join!`: all the `Ok` values, or the
//! first error, dropping the futures still running).
//!
//! Owns: the expansion. Must not poll a future after it completed.

use proc_macro2::{TokenStream, TokenTree};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Token};

struct Join {
    krate: TokenStream,
    futures: Vec<Expr>,
}

impl Parse for Join {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let krate = match input.parse::<TokenTree>()? {
            TokenTree::Group(group) => group.stream(),
            other => return Err(syn::Error::new_spanned(other, "call join! through ringlet")),
        };
        let futures = Punctuated::<Expr, Token![,]>::parse_terminated(input)?;
        Ok(Join {
            krate,
            futures: futures.into_iter().collect(),
        })
    }
}

pub(crate) fn expand(input: TokenStream, try_join: bool) -> TokenStream {
    let Join { krate, futures } = match syn::parse2::<Join>(input) {
        Ok(join) => join,
        Err(error) => return error.to_compile_error(),
    };
    if futures.is_empty() {
        return match try_join {
            true => quote!(::core::result::Result::Ok(())),
            false => quote!(()),
        };
    }
    let names: Vec<_> = (0..futures.len())
        .map(|i| format_ident!("__ringlet_future_{}", i))
        .collect();
    let pins = futures.iter().zip(&names).map(|(future, name)| {
        quote!(let mut #name = ::core::pin::pin!(#krate::__private::MaybeDone::new(#future));)
    });
    if !try_join {
        return quote! {{
            #(#pins)*
            ::core::future::poll_fn(|__ringlet_cx| {
                let mut __ringlet_done = true;
                #(__ringlet_done &= #names.as_mut().poll_done(__ringlet_cx);)*
                if __ringlet_done {
                    ::core::task::Poll::Ready(())
                } else {
                    ::core::task::Poll::Pending
                }
            })
            .await;
            (#(#names.as_mut().take_output(),)*)
        }};
    }
    quote! {{
        #(#pins)*
        match ::core::future::poll_fn(|__ringlet_cx| {
            let mut __ringlet_done = true;
            #(
                match #names.as_mut().poll_try(__ringlet_cx) {
                    ::core::task::Poll::Ready(::core::result::Result::Err(error)) => {
                        return ::core::task::Poll::Ready(::core::result::Result::Err(error));
                    }
                    ::core::task::Poll::Ready(::core::result::Result::Ok(())) => {}
                    ::core::task::Poll::Pending => __ringlet_done = false,
                }
            )*
            if __ringlet_done {
                ::core::task::Poll::Ready(::core::result::Result::Ok(()))
            } else {
                ::core::task::Poll::Pending
            }
        })
        .await
        {
            ::core::result::Result::Ok(()) => {
                ::core::result::Result::Ok((#(#names.as_mut().take_ok(),)*))
            }
            ::core::result::Result::Err(error) => ::core::result::Result::Err(error),
        }
    }}
}
