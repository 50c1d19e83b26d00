//! `ChainSettings`: what the planner asks the DSP chain to do.
//! (Filled in by the DSP work; placeholder so the workspace builds.)
