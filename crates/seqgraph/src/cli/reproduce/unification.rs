//! `unification`: an Elman RNN is message passing on a directed path graph; self-attention is
//! attention on a complete graph. Both are shown as maximum absolute differences between the two
//! computations, with the same parameters and inputs.

use super::Ctx;
use crate::report::{BarSeries, ExperimentReport, Figure, Metric};
use anyhow::Result;
use seqgraph::unification::{attention_on_complete_graph, rnn_as_message_passing};

/// Runs the experiment.
pub fn run(ctx: &Ctx, report: &mut ExperimentReport) -> Result<()> {
    let bar = ctx.bar(2, "unification");
    let (steps, hidden) = ctx.size((20, 32), (100, 64));
    let (fused, explicit) = rnn_as_message_passing(8, steps, 10, hidden)?;
    bar.inc();
    let (n, heads, c) = ctx.size((16, 4, 8), (64, 8, 16));
    let attention = attention_on_complete_graph(n, heads, c, 32)?;
    bar.inc();
    bar.finish();
    let tol = 1e-5;
    report.metrics.push(
        Metric::new(
            format!(
                "Elman RNN (fused kernel) vs {steps} rounds of message passing on a path graph: max |diff|"
            ),
            fused,
        )
        .expect(format!("< {tol:e}"), fused < tol),
    );
    report.metrics.push(
        Metric::new(
            "Elman RNN (explicit loop) vs message passing on a path graph: max |diff|",
            explicit,
        )
        .expect(format!("< {tol:e}"), explicit < tol),
    );
    report.metrics.push(
        Metric::new(
            format!(
                "TransformerConv on the complete graph ({n} nodes, self loops) vs multi-head attention: max |diff|"
            ),
            attention,
        )
        .expect(format!("< {tol:e}"), attention < tol),
    );
    report.figures.push(
        Figure::bars(
            "unification-differences",
            "Same machine: maximum absolute differences (float32)",
            "max |difference|",
            vec![
                "RNN (fused) = MP on path".into(),
                "RNN (explicit) = MP on path".into(),
                "attention = complete graph".into(),
            ],
            vec![BarSeries {
                name: "max |diff|".into(),
                values: vec![fused, explicit, attention],
            }],
        )
        .log_y(),
    );
    report.notes.push(format!(
        "RNN: 8 sequences of {steps} steps, input 10, hidden {hidden}; the message-passing layer is written \
         against graph-models' MessagePassing trait (message W_hh h_j, sum, update tanh(W_ih x_i + b + m)) \
         with seq-models' RNN parameters. Attention: {heads} heads of {c} channels, input 32, libtorch's \
         scaled_dot_product_attention as reference."
    ));
    Ok(())
}
