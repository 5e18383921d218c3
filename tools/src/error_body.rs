//! The serialised form of an error, `{"code", "message", "hint"}`, and the
//! bounds on its size. A leaf module (it imports only [`crate::echo`]), so a
//! record that carries a typed error, such as a skipped file in
//! [`crate::model::Skipped`], can print it without depending on
//! [`crate::error`], which gathers every error enum.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::echo::clip_to;

/// The longest error message an [`ErrorBody`] carries, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// The longest hint an [`ErrorBody`] carries, in characters.
pub const MAX_HINT_CHARS: usize = 1000;

/// The serialised form of an error: `{"code", "message", "hint"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// Stable kebab-case code, e.g. `qa-not-found`.
    pub code: String,
    /// What went wrong, naming the file, field or value at fault.
    pub message: String,
    /// How to recover.
    pub hint: String,
}

impl ErrorBody {
    /// The body of an error with this code, message and hint. Message and
    /// hint are cut to [`MAX_MESSAGE_CHARS`] and [`MAX_HINT_CHARS`] as a last
    /// bound on the size of an error (echoed input is cut where it is
    /// quoted, by [`crate::echo::clip`]).
    pub fn new(code: &str, message: &str, hint: &str) -> ErrorBody {
        ErrorBody {
            code: code.to_owned(),
            message: clip_to(message, MAX_MESSAGE_CHARS),
            hint: clip_to(hint, MAX_HINT_CHARS),
        }
    }
}
