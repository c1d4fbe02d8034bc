//! `select!`: waits on several futures, runs the handler of the first to complete whose
//! output matches its pattern, and drops the others.
//!
//! Grammar (after ringlet's wrapper puts `($crate)` first):
//!
//! ```text
//! [biased;]
//! PATTERN = FUTURE [, if CONDITION] => HANDLER [,]
//! ...
//! [else => HANDLER [,]]
//! ```
//!
//! Owns: parsing and expansion. Must not poll a future after it completed, or a branch
//! whose condition was false.

use proc_macro2::{TokenStream, TokenTree};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::visit_mut::VisitMut;
use syn::{Expr, Pat, Token};

/// At most this many branches: the disabled set is one `u64`.
const MAX_BRANCHES: usize = 64;

struct Branch {
    pattern: Pat,
    future: Expr,
    condition: Option<Expr>,
    handler: Expr,
}

struct Select {
    krate: TokenStream,
    biased: bool,
    branches: Vec<Branch>,
    otherwise: Option<Expr>,
}

mod kw {
    syn::custom_keyword!(biased);
}

/// The handler and the comma after it (optional after a block).
fn parse_handler(input: ParseStream<'_>) -> syn::Result<Expr> {
    let handler: Expr = input.parse()?;
    let is_block = matches!(handler, Expr::Block(_));
    if input.is_empty() {
        return Ok(handler);
    }
    if is_block {
        let _: Option<Token![,]> = input.parse()?;
    } else {
        let _: Token![,] = input.parse()?;
    }
    Ok(handler)
}

impl Parse for Select {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let krate = match input.parse::<TokenTree>()? {
            TokenTree::Group(group) => group.stream(),
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "call select! through ringlet",
                ));
            }
        };
        let biased = input.peek(kw::biased) && input.peek2(Token![;]);
        if biased {
            input.parse::<kw::biased>()?;
            input.parse::<Token![;]>()?;
        }
        let mut branches = Vec::new();
        let mut otherwise = None;
        while !input.is_empty() {
            if input.peek(Token![else]) {
                let token: Token![else] = input.parse()?;
                input.parse::<Token![=>]>()?;
                if otherwise.is_some() {
                    return Err(syn::Error::new_spanned(
                        token,
                        "select! has one else branch",
                    ));
                }
                otherwise = Some(parse_handler(input)?);
                continue;
            }
            let pattern = Pat::parse_multi_with_leading_vert(input)?;
            input.parse::<Token![=]>()?;
            let future = input.call(Expr::parse_without_eager_brace)?;
            let condition = if input.peek(Token![,]) && input.peek2(Token![if]) {
                input.parse::<Token![,]>()?;
                input.parse::<Token![if]>()?;
                Some(input.call(Expr::parse_without_eager_brace)?)
            } else {
                None
            };
            input.parse::<Token![=>]>()?;
            let handler = parse_handler(input)?;
            branches.push(Branch {
                pattern,
                future,
                condition,
                handler,
            });
        }
        if branches.is_empty() {
            return Err(
                input.error("select! needs at least one `pattern = future => handler` branch")
            );
        }
        if branches.len() > MAX_BRANCHES {
            return Err(input.error(format!("select! takes at most {MAX_BRANCHES} branches")));
        }
        Ok(Select {
            krate,
            biased,
            branches,
            otherwise,
        })
    }
}

/// Strips `mut` and `ref` from a pattern's bindings, so that it can be tried against a
/// reference to the output (which it must not move) before the output is taken.
struct Clean;

impl VisitMut for Clean {
    fn visit_pat_ident_mut(&mut self, ident: &mut syn::PatIdent) {
        ident.by_ref = None;
        ident.mutability = None;
        syn::visit_mut::visit_pat_ident_mut(self, ident);
    }
}

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    match syn::parse2::<Select>(input) {
        Ok(select) => generate(select),
        Err(error) => error.to_compile_error(),
    }
}

fn generate(select: Select) -> TokenStream {
    let Select {
        krate,
        biased,
        branches,
        otherwise,
    } = select;
    let n = branches.len();
    let count = n as u32;
    let all: u64 = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
    let variants: Vec<_> = (0..n).map(|i| format_ident!("B{}", i)).collect();
    let types: Vec<_> = (0..n).map(|i| format_ident!("T{}", i)).collect();
    let futures: Vec<_> = (0..n)
        .map(|i| format_ident!("__ringlet_future_{}", i))
        .collect();
    let indices: Vec<u32> = (0..count).collect();
    let bits: Vec<u64> = (0..n).map(|i| 1u64 << i).collect();

    let conditions = branches.iter().zip(&bits).map(|(branch, bit)| {
        branch.condition.as_ref().map(|condition| {
            quote! {
                if !(#condition) {
                    __ringlet_disabled |= #bit;
                }
            }
        })
    });
    let pins = branches.iter().zip(&futures).map(|(branch, future)| {
        let expr = &branch.future;
        quote!(let mut #future = ::core::pin::pin!(#expr);)
    });
    let polls = branches.iter().enumerate().map(|(i, branch)| {
        let mut clean = branch.pattern.clone();
        Clean.visit_pat_mut(&mut clean);
        let (index, bit, future, variant) = (indices[i], bits[i], &futures[i], &variants[i]);
        quote! {
            #index => {
                if __ringlet_disabled & #bit != 0 {
                    continue;
                }
                let __ringlet_output = match ::core::future::Future::poll(#future.as_mut(), __ringlet_cx) {
                    ::core::task::Poll::Ready(output) => output,
                    ::core::task::Poll::Pending => continue,
                };
                // It completed: never polled again, whatever its pattern says.
                __ringlet_disabled |= #bit;
                #[allow(unused_variables, unreachable_patterns, clippy::redundant_pattern_matching)]
                match &__ringlet_output {
                    #clean => {
                        return ::core::task::Poll::Ready(__RingletOut::#variant(__ringlet_output));
                    }
                    _ => continue,
                }
            }
        }
    });
    let arms = branches.iter().zip(&variants).map(|(branch, variant)| {
        let (pattern, handler) = (&branch.pattern, &branch.handler);
        quote!(__RingletOut::#variant(#pattern) => #handler,)
    });
    let otherwise = match otherwise {
        Some(handler) => quote!(#handler),
        None => quote! {
            ::core::panic!("select!: every branch is disabled and there is no `else` branch")
        },
    };
    let start = if biased {
        quote!(0u32)
    } else {
        quote!(#krate::__private::select_start(#count))
    };
    quote! {{
        enum __RingletOut<#(#types),*> {
            #(#variants(#types),)*
            Disabled,
        }
        let __ringlet_out = {
            let mut __ringlet_disabled: u64 = 0;
            #(#conditions)*
            #(#pins)*
            let __ringlet_start: u32 = #start;
            ::core::future::poll_fn(|__ringlet_cx| {
                for __ringlet_turn in 0..#count {
                    let mut __ringlet_branch = __ringlet_start + __ringlet_turn;
                    if __ringlet_branch >= #count {
                        __ringlet_branch -= #count;
                    }
                    match __ringlet_branch {
                        #(#polls)*
                        _ => ::core::unreachable!(),
                    }
                }
                if __ringlet_disabled == #all {
                    ::core::task::Poll::Ready(__RingletOut::Disabled)
                } else {
                    ::core::task::Poll::Pending
                }
            })
            .await
        };
        #[allow(unreachable_patterns)]
        match __ringlet_out {
            #(#arms)*
            __RingletOut::Disabled => #otherwise,
            _ => ::core::unreachable!("select!: an output did not match the pattern it matched"),
        }
    }}
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::expand;

    #[test]
    fn mistakes_are_named() {
        let empty = expand(quote!((::ringlet))).to_string();
        assert!(empty.contains("needs at least one"), "{empty}");
        let two_else = expand(quote!((::ringlet) _ = a => 1, else => 2, else => 3)).to_string();
        assert!(two_else.contains("one else branch"), "{two_else}");
        let branches: Vec<_> = (0..65).map(|_| quote!(_ = a => 1,)).collect();
        let too_many = expand(quote!((::ringlet) #(#branches)*)).to_string();
        assert!(too_many.contains("at most 64"), "{too_many}");
    }

    #[test]
    fn biased_polls_in_order_and_patterns_lose_mut() {
        let biased =
            expand(quote!((::ringlet) biased; Some(mut x) = a => x, _ = b => 0)).to_string();
        assert!(
            biased.contains("let __ringlet_start : u32 = 0u32"),
            "{biased}"
        );
        assert!(
            biased.contains("match & __ringlet_output { Some (x) =>"),
            "{biased}"
        );
        let fair = expand(quote!((::ringlet) _ = a => 1)).to_string();
        assert!(fair.contains("select_start (1u32)"), "{fair}");
    }
}
