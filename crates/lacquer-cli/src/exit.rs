//! Exit codes people can script against.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Code {
    Success = 0,
    /// Something went wrong that is not the input's fault.
    Failure = 1,
    /// An input file was invalid (unreadable, unsupported, too short…).
    InvalidInput = 2,
}

impl From<Code> for ExitCode {
    fn from(code: Code) -> Self {
        ExitCode::from(code as u8)
    }
}

/// "outer: inner: innermost", so wrapped errors (a decoder's, a model's)
/// are not lost when a library error is printed.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}
