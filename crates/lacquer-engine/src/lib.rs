//! The mastering engine: decode → analyse → classify → match → plan →
//! process → re-measure → adjust → gate → encode → report.
