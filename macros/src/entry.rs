//! `#[ringlet::main]` and `#[ringlet::test]`: an `async fn` becomes a plain one that
//! builds a runtime and blocks on the original body.
//!
//! Owns: the attributes' options and the rewrite. Must not change the function's
//! signature other than dropping `async`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ItemFn, Lit, Meta, Token};

/// Which attribute is expanding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Main,
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Main => "#[ringlet::main]",
            Kind::Test => "#[ringlet::test]",
        }
    }
}

/// The attribute's options: `workers = N`, `pin_cores = BOOL`, `crate = "path"`.
struct Options {
    workers: Option<Expr>,
    pin_cores: Option<Expr>,
    krate: syn::Path,
}

fn parse_options(kind: Kind, args: TokenStream) -> syn::Result<Options> {
    let mut options = Options {
        workers: None,
        pin_cores: None,
        krate: syn::parse_quote!(::ringlet),
    };
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    for meta in metas {
        let Meta::NameValue(option) = meta else {
            return Err(syn::Error::new_spanned(
                meta,
                format!(
                    "{}: options are `name = value`: workers = N, pin_cores = true|false, \
                     crate = \"path\"",
                    kind.name()
                ),
            ));
        };
        let name = option.path.get_ident().map(ToString::to_string);
        match name.as_deref() {
            Some("workers") => options.workers = Some(option.value),
            Some("pin_cores") => options.pin_cores = Some(option.value),
            Some("crate") => match &option.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(path),
                    ..
                }) => options.krate = path.parse()?,
                other => {
                    return Err(syn::Error::new_spanned(
                        other,
                        "`crate` takes the path to ringlet as a string: crate = \"my::ringlet\"",
                    ));
                }
            },
            _ => {
                return Err(syn::Error::new_spanned(
                    &option.path,
                    format!(
                        "{}: unknown option; expected workers, pin_cores or crate",
                        kind.name()
                    ),
                ));
            }
        }
    }
    Ok(options)
}

/// Expands the attribute; on an error, the error and the item unchanged (so the rest of
/// the crate still type-checks and only the real mistake is reported).
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    match try_expand(kind, args, item.clone()) {
        Ok(expanded) => expanded,
        Err(error) => {
            let mut out = error.to_compile_error();
            out.extend(item);
            out
        }
    }
}

fn try_expand(kind: Kind, args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let options = parse_options(kind, args)?;
    let mut function: ItemFn = syn::parse2(item)?;
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span,
            format!("{} goes on an `async fn`", kind.name()),
        ));
    }
    if !sig.inputs.is_empty() || !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.inputs,
            format!(
                "{} takes a function without arguments or generics",
                kind.name()
            ),
        ));
    }
    if kind == Kind::Test && function.attrs.iter().any(|a| a.path().is_ident("test")) {
        return Err(syn::Error::new_spanned(
            &function.sig.ident,
            "#[ringlet::test] already makes this a test: remove the #[test]",
        ));
    }
    let krate = &options.krate;
    let mut builder = quote!(#krate::Runtime::builder());
    let workers = match (&options.workers, kind) {
        (Some(workers), _) => Some(quote!(#workers)),
        // A test runs on one worker unless it asks for more; main gets one per core.
        (None, Kind::Test) => Some(quote!(1)),
        (None, Kind::Main) => None,
    };
    if let Some(workers) = workers {
        builder = quote!(#builder.workers(#workers));
    }
    if let Some(pin) = &options.pin_cores {
        builder = quote!(#builder.pin_cores(#pin));
    }
    // The body stays an `async fn` of the same signature, nested inside: `return` and `?`
    // behave as written, and its return type is stated, not inferred.
    let inner = format_ident!("__ringlet_{}", function.sig.ident);
    let output = &function.sig.output;
    let body = &function.block;
    let block = quote! {{
        async fn #inner() #output #body
        #builder
            .build()
            .unwrap_or_else(|e| ::core::panic!("cannot start the ringlet runtime: {e}"))
            .block_on(#inner())
    }};
    function.sig.asyncness = None;
    function.block = syn::parse2(block)?;
    let test = (kind == Kind::Test).then(|| quote!(#[::core::prelude::v1::test]));
    Ok(quote!(#test #function))
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::{Kind, expand};

    fn error_of(
        kind: Kind,
        args: proc_macro2::TokenStream,
        item: proc_macro2::TokenStream,
    ) -> String {
        expand(kind, args, item).to_string()
    }

    #[test]
    fn mistakes_are_named() {
        let sync_fn = error_of(
            Kind::Main,
            quote!(),
            quote!(
                fn main() {}
            ),
        );
        assert!(sync_fn.contains("goes on an `async fn`"), "{sync_fn}");
        let unknown = error_of(
            Kind::Test,
            quote!(threads = 2),
            quote!(
                async fn t() {}
            ),
        );
        assert!(unknown.contains("unknown option"), "{unknown}");
        let flag = error_of(
            Kind::Test,
            quote!(workers),
            quote!(
                async fn t() {}
            ),
        );
        assert!(flag.contains("options are `name = value`"), "{flag}");
        let args = error_of(
            Kind::Test,
            quote!(),
            quote!(
                async fn t(x: u8) {}
            ),
        );
        assert!(args.contains("without arguments"), "{args}");
        let twice = error_of(
            Kind::Test,
            quote!(),
            quote!(
                #[test]
                async fn t() {}
            ),
        );
        assert!(twice.contains("remove the #[test]"), "{twice}");
    }

    #[test]
    fn a_test_gets_one_worker_and_main_keeps_the_default() {
        let test = expand(
            Kind::Test,
            quote!(),
            quote!(
                async fn t() {}
            ),
        )
        .to_string();
        assert!(
            test.contains("workers (1)") && test.contains("test"),
            "{test}"
        );
        let main = expand(
            Kind::Main,
            quote!(),
            quote!(
                async fn main() {}
            ),
        )
        .to_string();
        assert!(!main.contains("workers"), "{main}");
        let renamed = expand(
            Kind::Main,
            quote!(crate = "my::rt", workers = 3),
            quote!(
                async fn main() {}
            ),
        );
        let renamed = renamed.to_string();
        assert!(
            renamed.contains("my :: rt :: Runtime") && renamed.contains("workers (3)"),
            "{renamed}"
        );
    }
}
