//! Data-parallel training across processes for seqgraph, on libtorch's own
//! distributed engine: a [`ProcessGroup`] is a c10d `TCPStore` rendezvous
//! plus a Gloo process group (CPU, TCP), reached through a small C++ shim
//! (`src/c10d_shim.cpp`) because tch does not wrap c10d.
//!
//! Synchronous data parallelism: every process builds the same model,
//! [`ProcessGroup::broadcast`] copies rank 0's parameters to all, and after
//! each backward pass [`ProcessGroup::all_reduce_sum`] sums the gradients so
//! that every rank takes the same optimiser step.
//!
//! A rank that exits, is killed or stalls makes the others' next collective
//! fail within the group's timeout with [`DistError::Peer`] naming it; a
//! rendezvous on a port in use or with ranks that disagree on the world size
//! fails with [`DistError::Rendezvous`] (`tests/faults.rs`).
//!
//! ```no_run
//! use seqgraph_dist::ProcessGroup;
//! use std::time::Duration;
//! let rank: usize = std::env::var("RANK").unwrap().parse().unwrap();
//! let pg = ProcessGroup::new("127.0.0.1", 29500, rank, 2, Duration::from_secs(60)).unwrap();
//! let mut g = tch::Tensor::ones([3], (tch::Kind::Float, tch::Device::Cpu));
//! pg.all_reduce_sum(&mut [&mut g]).unwrap(); // [2, 2, 2] on both ranks
//! ```
//!
//! The shim is tied to libtorch 2.13.0: pip's libtorch ships the c10d headers
//! but not Gloo's, so the Gloo group is created through two exported symbols
//! declared by name (see the C++ file); the build refuses another version.
#![deny(missing_docs)]

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::time::Duration;

use tch::Tensor;

/// What went wrong in a collective or the rendezvous.
#[derive(Debug, thiserror::Error)]
pub enum DistError {
    /// A bad argument, refused before libtorch is called.
    #[error("{0}")]
    Invalid(String),
    /// c10d raised an error outside the rendezvous and the collectives.
    #[error("c10d: {0}")]
    C10d(String),
    /// This rank could not join the group: the port is taken, the ranks
    /// disagree on the world size, or not every rank came within the timeout.
    #[error("rank {rank} of {world} could not join the group at {host}:{port}: {message}")]
    Rendezvous {
        /// This process's rank.
        rank: usize,
        /// The world size this process was started with.
        world: usize,
        /// The rendezvous host.
        host: String,
        /// The rendezvous port.
        port: u16,
        /// What c10d (or the port check) said.
        message: String,
    },
    /// A collective failed because another rank left it: it exited, was
    /// killed, or stalled past the timeout.
    #[error(
        "rank {rank} of {world}: {op} #{index} failed after {elapsed:.1?} (timeout {timeout:?}): {}; c10d: {message}",
        what_happened(peers, message)
    )]
    Peer {
        /// This process's rank (the one that reports).
        rank: usize,
        /// The world size.
        world: usize,
        /// The collective (`all_reduce`, `broadcast`).
        op: &'static str,
        /// How many collectives this group had completed before it (0-based index of this one).
        index: u64,
        /// The other ranks, one of which left (with two ranks: the one that did).
        peers: Vec<usize>,
        /// How long the collective waited.
        elapsed: Duration,
        /// The group's timeout.
        timeout: Duration,
        /// Gloo's message.
        message: String,
    },
}

/// Says who left and how, from Gloo's message (a timeout or a closed connection).
fn what_happened(peers: &[usize], message: &str) -> String {
    let who = match peers {
        [one] => format!("rank {one}"),
        many => format!(
            "one of ranks {}",
            many.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
        ),
    };
    if message.contains("Timed out") || message.contains("timed out") {
        format!("{who} did not take part within the timeout (stalled or hung)")
    } else {
        format!("{who} closed its connection (it exited or was killed)")
    }
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, DistError>;

extern "C" {
    fn seqgraph_pg_new(
        host: *const c_char,
        port: u16,
        rank: c_int,
        world: c_int,
        timeout_ms: i64,
        err: *mut *mut c_char,
    ) -> *mut c_void;
    fn seqgraph_pg_rank(g: *mut c_void) -> c_int;
    fn seqgraph_pg_size(g: *mut c_void) -> c_int;
    fn seqgraph_pg_allreduce_sum(
        g: *mut c_void,
        ts: *const *mut c_void,
        n: usize,
        err: *mut *mut c_char,
    ) -> c_int;
    fn seqgraph_pg_broadcast(
        g: *mut c_void,
        ts: *const *mut c_void,
        n: usize,
        root: c_int,
        err: *mut *mut c_char,
    ) -> c_int;
    fn seqgraph_pg_free(g: *mut c_void);
    fn seqgraph_free_message(m: *mut c_char);
}

/// Takes the shim's error message (or a placeholder) and frees it.
fn take_message(err: *mut c_char) -> String {
    if err.is_null() {
        return "unknown error".into();
    }
    // SAFETY: the shim returns a NUL-terminated malloc'd string we own.
    let msg = unsafe { CStr::from_ptr(err) }.to_string_lossy().into_owned();
    unsafe { seqgraph_free_message(err) };
    msg
}

/// A Gloo process group of `world_size` ranks (one per process).
#[derive(Debug)]
pub struct ProcessGroup {
    raw: *mut c_void,
    rank: usize,
    world_size: usize,
    timeout: Duration,
    /// Collectives completed, to say which one failed.
    done: std::cell::Cell<u64>,
}

// SAFETY: the group may move to another thread; collectives take `&self` but
// are issued from one thread at a time (the type is not `Sync`).
unsafe impl Send for ProcessGroup {}

impl ProcessGroup {
    /// Joins the group: rank 0 serves the rendezvous store on `host:port`,
    /// the others connect to it; returns when all `world_size` ranks have
    /// joined, or fails after `timeout` (which also bounds each collective).
    ///
    /// Fails with [`DistError::Rendezvous`] when rank 0 finds the port taken,
    /// when a rank was started with another world size than rank 0 (both
    /// sizes are named), or when the ranks do not all come within `timeout`.
    pub fn new(host: &str, port: u16, rank: usize, world_size: usize, timeout: Duration) -> Result<Self> {
        if world_size == 0 || rank >= world_size {
            return Err(DistError::Invalid(format!(
                "rank {rank} is outside a group of {world_size}"
            )));
        }
        let rendezvous = |message: String| DistError::Rendezvous {
            rank,
            world: world_size,
            host: host.to_owned(),
            port,
            message,
        };
        // c10d's own bind error is an errno dump: say plainly that the port is taken.
        if rank == 0 && port != 0 {
            if let Err(e) = std::net::TcpListener::bind(("0.0.0.0", port)) {
                if e.kind() == std::io::ErrorKind::AddrInUse {
                    return Err(rendezvous(format!(
                        "port {port} is already in use (another group or program listens there); choose another port"
                    )));
                }
            }
        }
        let host_c =
            CString::new(host).map_err(|_| DistError::Invalid(format!("host {host:?} holds a NUL")))?;
        let mut err = std::ptr::null_mut();
        // SAFETY: valid C string and out-pointer; the shim catches C++ exceptions.
        let raw = unsafe {
            seqgraph_pg_new(
                host_c.as_ptr(),
                port,
                rank as c_int,
                world_size as c_int,
                timeout.as_millis().min(i64::MAX as u128) as i64,
                &mut err,
            )
        };
        if raw.is_null() {
            return Err(rendezvous(take_message(err)));
        }
        let pg = ProcessGroup {
            raw,
            rank,
            world_size,
            timeout,
            done: std::cell::Cell::new(0),
        };
        // SAFETY: `raw` is a live group.
        let (r, s) = unsafe { (seqgraph_pg_rank(raw), seqgraph_pg_size(raw)) };
        if r as usize != rank || s as usize != world_size {
            return Err(DistError::C10d(format!(
                "the Gloo group reports rank {r} of {s}, expected {rank} of {world_size}"
            )));
        }
        Ok(pg)
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Number of ranks.
    pub fn world_size(&self) -> usize {
        self.world_size
    }

    fn check(tensors: &[&mut Tensor]) -> Result<Vec<*mut c_void>> {
        tensors
            .iter()
            .map(|t| {
                if t.device() != tch::Device::Cpu || !t.is_contiguous() {
                    return Err(DistError::Invalid(format!(
                        "Gloo needs contiguous CPU tensors, got {:?} on {:?} (contiguous: {})",
                        t.size(),
                        t.device(),
                        t.is_contiguous()
                    )));
                }
                Ok(t.as_ptr() as *mut c_void)
            })
            .collect()
    }

    /// The group's timeout: the longest a collective waits for the other ranks.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs one collective through the shim, naming the ranks that left it on failure.
    fn collective(&self, op: &'static str, call: impl FnOnce(*mut *mut c_char) -> c_int) -> Result<()> {
        let start = std::time::Instant::now();
        let mut err = std::ptr::null_mut();
        let code = call(&mut err);
        let index = self.done.get();
        self.done.set(index + 1);
        if code == 0 {
            return Ok(());
        }
        Err(DistError::Peer {
            rank: self.rank,
            world: self.world_size,
            op,
            index,
            peers: (0..self.world_size).filter(|r| *r != self.rank).collect(),
            elapsed: start.elapsed(),
            timeout: self.timeout,
            message: take_message(err),
        })
    }

    /// Replaces each tensor by its sum over all ranks (every rank must call
    /// this with tensors of the same shapes and kinds, in the same order).
    /// Tensors of one kind travel in one flat buffer, one collective for all
    /// (DDP's bucketing, in one bucket); mixed kinds go one by one.
    pub fn all_reduce_sum(&self, tensors: &mut [&mut Tensor]) -> Result<()> {
        Self::check(tensors)?;
        let one_kind = tensors.windows(2).all(|w| w[0].kind() == w[1].kind());
        if tensors.len() > 1 && one_kind {
            let flat: Vec<Tensor> = tensors.iter().map(|t| t.reshape([-1])).collect();
            let mut bucket = Tensor::cat(&flat, 0);
            self.all_reduce_raw(&mut [&mut bucket])?;
            let mut offset = 0;
            tch::no_grad(|| {
                for t in tensors.iter_mut() {
                    let n = t.numel() as i64;
                    t.copy_(&bucket.narrow(0, offset, n).view_as(t));
                    offset += n;
                }
            });
            Ok(())
        } else {
            self.all_reduce_raw(tensors)
        }
    }

    /// One Gloo all-reduce per tensor.
    fn all_reduce_raw(&self, tensors: &mut [&mut Tensor]) -> Result<()> {
        let ptrs = Self::check(tensors)?;
        // SAFETY: live group; pointers are at::Tensor* kept alive by `tensors`.
        self.collective("all_reduce", |err| unsafe {
            seqgraph_pg_allreduce_sum(self.raw, ptrs.as_ptr(), ptrs.len(), err)
        })
    }

    /// Replaces each tensor by its mean over all ranks.
    pub fn all_reduce_mean(&self, tensors: &mut [&mut Tensor]) -> Result<()> {
        self.all_reduce_sum(tensors)?;
        for t in tensors.iter_mut() {
            let _ = t.g_div_scalar_(self.world_size as f64);
        }
        Ok(())
    }

    /// Copies rank `root`'s tensors into every rank's.
    pub fn broadcast(&self, tensors: &mut [&mut Tensor], root: usize) -> Result<()> {
        if root >= self.world_size {
            return Err(DistError::Invalid(format!(
                "root {root} is outside a group of {}",
                self.world_size
            )));
        }
        let ptrs = Self::check(tensors)?;
        // SAFETY: as in `all_reduce_sum`.
        self.collective("broadcast", |err| unsafe {
            seqgraph_pg_broadcast(self.raw, ptrs.as_ptr(), ptrs.len(), root as c_int, err)
        })
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        // SAFETY: `raw` came from seqgraph_pg_new and is freed once.
        unsafe { seqgraph_pg_free(self.raw) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_of_one_reduces_to_itself_and_bad_ranks_are_refused() {
        let pg = ProcessGroup::new("127.0.0.1", 0, 0, 1, Duration::from_secs(30)).unwrap();
        let mut t = Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
        pg.all_reduce_sum(&mut [&mut t]).unwrap();
        assert_eq!(Vec::<f32>::try_from(&t).unwrap(), vec![1.0, 2.0, 3.0]);
        // Several shapes in one bucket come back in place, unchanged for one rank.
        let mut m = Tensor::from_slice(&[4.0f32, 5.0, 6.0, 7.0]).view([2, 2]);
        let mut u = Tensor::from_slice(&[8.0f32]);
        pg.all_reduce_sum(&mut [&mut t, &mut m, &mut u]).unwrap();
        assert_eq!(
            Vec::<f32>::try_from(&m.reshape([-1])).unwrap(),
            vec![4.0, 5.0, 6.0, 7.0]
        );
        assert_eq!(m.size(), [2, 2]);
        assert_eq!(Vec::<f32>::try_from(&u).unwrap(), vec![8.0]);
        pg.all_reduce_mean(&mut [&mut u]).unwrap();
        assert_eq!(Vec::<f32>::try_from(&u).unwrap(), vec![8.0]);
        pg.broadcast(&mut [&mut t], 0).unwrap();
        assert!(pg.broadcast(&mut [&mut t], 1).is_err());
        let mut strided = Tensor::ones([3, 3], (tch::Kind::Float, tch::Device::Cpu)).tr();
        let err = pg.all_reduce_sum(&mut [&mut strided]).unwrap_err();
        assert!(err.to_string().contains("contiguous CPU tensors"), "{err}");
        assert!(ProcessGroup::new("127.0.0.1", 0, 2, 2, Duration::from_secs(1)).is_err());
    }
}
