//! Graph-level benches (graph-data's batches, graph-models' GIN), peers in
//! `benches/peers/pyg_graph.py` (PyG's `TUDataset`, `Collater`, `DataLoader`).
//!
//! - `collate_epoch/{proteins,nci1}`: collating one epoch of shuffled batches of 128 graphs
//!   (`GraphLoader::epoch_tensors` without prefetching: each graph's arrays copied once, into the
//!   batch's tensors), as PyG's `Collater` turns
//!   a list of `Data` into a `Batch`.
//! - `gin_epoch/{proteins,nci1}`: one training epoch of GIN-0 (Xu et al.: 5 layers, 64 units,
//!   per-layer sum readout, batch norm, dropout 0.5; Adam lr 0.01) over shuffled batches of 128,
//!   the loader prefetching as the recipe's does.
//! - `gin_gemm_floor/{proteins,nci1}`: the dense products of that same epoch alone, forward and
//!   backward, at the shapes of the epoch's actual batches, with nothing else (no aggregation, batch
//!   norm, ReLU, dropout, loss or Adam). Any implementation of this GIN in fp32 performs these
//!   products, so this time is a lower bound of the epoch on this machine and thread count, and
//!   PyG's epoch time over it bounds the ratio any implementation could reach. The bench also
//!   prints the products' FLOPs and the rate they ran at, with libtorch's GEMM (criterion's
//!   number) and with `train_utils::small_linear`, which `GinNet` runs its MLPs on (see
//!   [`GemmFloor`]): the lower of the two is the floor for our epoch.
//!
//! Threads and allocator: [`seqgraph_benches::setup`].
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use graph_data::batch::{GraphLoader, GraphSample, LoaderConfig};
use graph_models::{GinNet, GinNetConfig};
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

const SETS: [&str; 2] = ["proteins", "nci1"];

fn load(name: &str) -> (Arc<Vec<GraphSample>>, i64, i64) {
    let d = graph_data::tu::load(name, &graph_data::fetch::Fetcher::from_env()).expect("TU data");
    (
        Arc::new(d.graphs),
        d.num_node_features as i64,
        d.num_classes as i64,
    )
}

fn loader(graphs: &Arc<Vec<GraphSample>>, prefetch: usize) -> GraphLoader {
    let n = graphs.len();
    let config = LoaderConfig {
        batch_size: 128,
        prefetch,
        ..LoaderConfig::default()
    };
    GraphLoader::new(Arc::clone(graphs), (0..n).collect(), config).expect("valid loader")
}

fn collate(c: &mut Criterion) {
    seqgraph_benches::setup();
    let mut group = c.benchmark_group("collate_epoch");
    group.sample_size(30);
    for name in SETS {
        let (graphs, _, _) = load(name);
        let l = loader(&graphs, 0);
        let mut epoch = 0u64;
        let mut run = || {
            epoch += 1;
            l.epoch_tensors(epoch)
                .map(|b| b.expect("valid batch").num_graphs)
                .sum::<i64>()
        };
        seqgraph_benches::record_peak(&format!("collate_epoch/{name}"), &mut run);
        group.bench_function(name, |b| b.iter(&mut run));
    }
    group.finish();
}

fn gin_epoch(c: &mut Criterion) {
    seqgraph_benches::setup();
    let mut group = c.benchmark_group("gin_epoch");
    group.sample_size(10);
    for name in SETS {
        let (graphs, features, classes) = load(name);
        let l = loader(&graphs, 2);
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let net = GinNet::new(vs.root(), features, 0, classes, GinNetConfig::default());
        let mut opt = nn::Adam::default().build(&vs, 0.01).expect("Adam");
        let mut epoch = 0u64;
        let mut run = || {
            epoch += 1;
            for b in l.epoch_tensors(epoch) {
                let t = b.expect("valid batch");
                let logits = net.forward_t(&t.x, &t.edge_index, None, &t.batch, t.num_graphs, true);
                opt.backward_step(&logits.cross_entropy_for_logits(&t.y));
            }
        };
        seqgraph_benches::record_peak(&format!("gin_epoch/{name}"), &mut run);
        group.bench_function(name, |b| b.iter(&mut run));
    }
    group.finish();
}

/// One dense product of the GIN epoch, `[m, k] x [k, n]` as `nn::Linear` computes it (input `[m, k]`,
/// weight `[n, k]`), and whether its input needs a gradient: its backward is `grad_W = g^T x` and,
/// unless the input is data (the node features, their pooled sums), `grad_x = g W`.
struct Product {
    m: i64,
    k: i64,
    n: i64,
    input_grad: bool,
}

impl Product {
    /// Forward and backward FLOPs (2 per multiply-add).
    fn flops(&self) -> f64 {
        let one = 2.0 * (self.m * self.k * self.n) as f64;
        one * if self.input_grad { 3.0 } else { 2.0 }
    }
}

/// The dense products of one GIN-0 epoch (the bench's network: 4 GIN layers of 64, a head per layer
/// and on the input), from each batch's node and graph counts:
/// per GIN layer `lin1` `[nodes, d_in] x [d_in, 64]` (`d_in` = features in layer 0, whose input is
/// data) and `lin2` `[nodes, 64] x [64, 64]`; per head `[graphs, d] x [d, classes]`.
struct GemmFloor {
    products: Vec<Product>,
    /// Tensors of each product's shapes: input, weight, output gradient.
    operands: Vec<(Tensor, Tensor, Tensor)>,
}

impl GemmFloor {
    fn new(loader: &GraphLoader, features: i64, classes: i64) -> Self {
        let hidden = GinNetConfig::default().hidden;
        let gin_layers = GinNetConfig::default().layers - 1;
        let mut products = Vec::new();
        for b in loader.epoch_tensors(1) {
            let b = b.expect("valid batch");
            let (nodes, graphs) = (b.x.size()[0], b.num_graphs);
            products.push(Product {
                m: graphs,
                k: features,
                n: classes,
                input_grad: false,
            });
            for l in 0..gin_layers {
                let d_in = if l == 0 { features } else { hidden };
                products.push(Product {
                    m: nodes,
                    k: d_in,
                    n: hidden,
                    input_grad: l > 0,
                });
                products.push(Product {
                    m: nodes,
                    k: hidden,
                    n: hidden,
                    input_grad: true,
                });
                products.push(Product {
                    m: graphs,
                    k: hidden,
                    n: classes,
                    input_grad: true,
                });
            }
        }
        let opts = (Kind::Float, Device::Cpu);
        let operands = products
            .iter()
            .map(|p| {
                // Gradients only for the kernel's autograd path; `run` takes no graph.
                let x = Tensor::randn([p.m, p.k], opts).set_requires_grad(p.input_grad);
                let w = Tensor::randn([p.n, p.k], opts).set_requires_grad(true);
                let g = Tensor::randn([p.m, p.n], opts);
                (x, w, g)
            })
            .collect();
        GemmFloor { products, operands }
    }

    fn flops(&self) -> f64 {
        self.products.iter().map(Product::flops).sum()
    }

    /// Runs every product of the epoch once, forward and backward, with libtorch's GEMM.
    fn run(&self) -> f64 {
        let _no_graph = tch::no_grad_guard();
        let mut checksum = 0.0;
        for (p, (x, w, g)) in self.products.iter().zip(&self.operands) {
            let y = x.mm(&w.tr());
            let grad_w = g.tr().mm(x);
            checksum += y.double_value(&[0, 0]) + grad_w.double_value(&[0, 0]);
            if p.input_grad {
                checksum += g.mm(w).double_value(&[0, 0]);
            }
        }
        checksum
    }

    /// The same through `small_linear` (its kernel where the shape fits, `addmm` otherwise, as
    /// `GinNet` calls it), autograd running the backward from the output gradient `g`.
    fn run_kernel(&self) -> f64 {
        let mut checksum = 0.0;
        for (p, (x, w, g)) in self.products.iter().zip(&self.operands) {
            let y = train_utils::small_linear::linear(None, x, w, None);
            let inputs: Vec<&Tensor> = if p.input_grad { vec![x, w] } else { vec![w] };
            let grads = Tensor::run_backward(&[(&y * g).sum(Kind::Float)], &inputs, false, false);
            checksum += grads.iter().map(|t| t.double_value(&[0, 0])).sum::<f64>();
        }
        checksum
    }
}

fn gin_gemm_floor(c: &mut Criterion) {
    let threads = seqgraph_benches::setup();
    let mut group = c.benchmark_group("gin_gemm_floor");
    group.sample_size(20);
    for name in SETS {
        let (graphs, features, classes) = load(name);
        let floor = GemmFloor::new(&loader(&graphs, 0), features, classes);
        // The rates over whole epochs' products, printed beside criterion's median.
        let time = |f: &dyn Fn() -> f64| {
            seqgraph_benches::median_ms(1, 5, || {
                std::hint::black_box(f());
            })
        };
        let (gemm, kernel) = (time(&|| floor.run()), time(&|| floor.run_kernel()));
        let gflops = floor.flops() / 1e9;
        eprintln!(
            "gin_gemm_floor/{name}: {} dense products per epoch, {gflops:.3} GFLOP forward + backward; \
             libtorch GEMM {gemm:.1} ms ({:.1} GFLOP/s), small_linear ({}) {kernel:.1} ms ({:.1} GFLOP/s) \
             ({threads} thread(s))",
            floor.products.len(),
            gflops / gemm * 1e3,
            train_utils::small_linear::kernel_isa().unwrap_or("none: addmm"),
            gflops / kernel * 1e3,
        );
        group.bench_function(name, |b| b.iter(|| floor.run()));
    }
    group.finish();
}

criterion_group!(benches, collate, gin_epoch, gin_gemm_floor);
criterion_main!(benches);
