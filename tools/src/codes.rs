//! How a test sees every error code of the program: [`ErrorCodes`], which
//! each error enum with a `code()` implements next to its definition (one
//! example of every variant, and the variant's index by exhaustive match),
//! and [`variant`], which writes those indices so that one past the count
//! fails to compile. The root package's `tests/error_codes.rs` checks that
//! every code is kebab-case and unique and every hint non-empty. A leaf
//! module: every error module may import it.

/// An error enum whose every variant can be enumerated, for the test over
/// every error code. Not public API.
#[doc(hidden)]
pub trait ErrorCodes: Sized + std::fmt::Display {
    /// How many variants the enum has (for [`ModelError`](crate::model::ModelError),
    /// whose code depends on its kind: variants times kinds).
    const VARIANTS: usize;

    /// One value of every variant.
    fn examples() -> Vec<Self>;

    /// The index of this value's variant, in `0..VARIANTS`, by an exhaustive
    /// match whose arms are written with [`variant`]: a new variant cannot
    /// compile without an arm, nor its arm without raising `VARIANTS`, and
    /// the test then wants an example with that index.
    fn variant_index(&self) -> usize;

    /// The stable kebab-case code.
    fn error_code(&self) -> &'static str;

    /// How to recover.
    fn error_hint(&self) -> String;

    /// Whether the code is another enum's (a wrapper whose `code()`
    /// delegates to the error it wraps); the test counts only the others.
    fn delegates(&self) -> bool {
        false
    }
}

/// The index `I` of a variant among `N`, refused at compile time unless
/// `I < N`.
pub const fn variant<const I: usize, const N: usize>() -> usize {
    const { assert!(I < N, "a variant index must be below ErrorCodes::VARIANTS") };
    I
}
