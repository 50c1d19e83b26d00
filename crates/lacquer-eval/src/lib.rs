//! Evaluation of genre models on a labelled manifest: the numbers that decide
//! whether a new model version may ship.
