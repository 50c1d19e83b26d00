//! PNG charts for people who would rather look than read numbers.

pub mod confusion;
pub mod font;
pub mod master;
