//! The model input: log-mel patches (being built).
