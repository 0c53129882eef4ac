// Found only when libtorch is missing: the real torch/torch.h under
// .libtorch/include comes first on the include path (see .cargo/config.toml).
#error "seqgraph: libtorch is not set up. Run `cargo xtask setup` once (it installs libtorch 2.13.0 into ~/.cache/seqgraph and links it as .libtorch)."
