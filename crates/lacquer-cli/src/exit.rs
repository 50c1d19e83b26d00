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
