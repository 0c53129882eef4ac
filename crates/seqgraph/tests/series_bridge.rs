//! Attention and convolution as the bridge between a series read as a sequence and read as a
//! graph of its time points (issue 20): with the same weights, to 1e-5,
//! - causal self-attention (QKV, causal mask) = graph attention (`TransformerConv`) over the
//!   complete causal graph (`s -> t` for `s <= t`, self loops included);
//! - a causal temporal convolution of width `k + 1` (left padding) = a GNN over the causal lag
//!   graph with lags `1..=k` and one weight per lag (also dilated: lags `d, 2d, .., kd`).

use seqgraph::unification::{causal_attention_on_causal_graph, lag_graph_as_causal_conv};

#[test]
fn causal_self_attention_is_graph_attention_on_the_complete_causal_graph() {
    for (batch, steps, heads, c, input) in [(1, 1, 1, 1, 1), (3, 7, 2, 4, 5), (2, 29, 4, 8, 12)] {
        let (graph, sdpa) = causal_attention_on_causal_graph(batch, steps, heads, c, input).unwrap();
        assert!(graph < 1e-5, "graph attention vs masked attention: {graph}");
        assert!(sdpa < 1e-5, "libtorch causal SDPA vs masked attention: {sdpa}");
    }
}

#[test]
fn causal_convolution_is_a_lag_graph_gnn() {
    for (batch, steps, k, dilation, input, output) in [
        (1, 1, 1, 1, 1, 1),
        (2, 10, 3, 1, 4, 5),
        (3, 24, 4, 2, 6, 3),
        // Lags longer than the series: the kernel sees only padding there.
        (2, 5, 6, 1, 2, 2),
    ] {
        let diff = lag_graph_as_causal_conv(batch, steps, k, dilation, input, output).unwrap();
        assert!(diff < 1e-5, "k = {k}, dilation = {dilation}: {diff}");
    }
}
