//! One module per family of commands. Each exposes `run(args)`, where `args`
//! are the words after the family's name.

pub mod demo;
pub mod flags;
pub mod graph;
pub mod link;
pub mod node;
pub mod reproduce;
pub mod seq;
pub mod series;
pub mod temporal;
pub mod text;
