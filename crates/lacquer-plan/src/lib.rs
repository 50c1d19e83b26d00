//! The planner: a pure function from measurements to chain settings, with a
//! reason for every decision.
