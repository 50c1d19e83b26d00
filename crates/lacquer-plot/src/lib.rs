//! PNG charts for people who would rather look than read numbers.
