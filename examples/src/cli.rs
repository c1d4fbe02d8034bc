//! What the example binaries share on their command lines (parsed with clap).

/// A clap value parser for a count that must be at least 1.
///
/// # Errors
///
/// "is not a positive number" for zero, a negative number or text.
pub fn positive(v: &str) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("is not a positive number".into()),
    }
}
