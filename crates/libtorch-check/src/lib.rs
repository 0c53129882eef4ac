//! Build-time guard: depending on this crate makes a missing or wrong libtorch
//! fail the build with a message that says to run `cargo xtask setup`, instead
//! of a C++ compiler error from `torch-sys`. It has no run-time content.
#![no_std]
