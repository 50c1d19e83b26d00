//! Reference matching: how far a mix is from a genre profile or a reference
//! track, and building profiles from masters people trust.
