//! The `Analysis` record: everything the analysis stage measures about a track.
//! (Filled in by the analysis work; placeholder so the workspace builds.)
