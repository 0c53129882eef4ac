//! The parallel building blocks of [`Csr`](super::Csr): a stable parallel
//! counting sort by row, per-row sorting and deduplication, column sums, and
//! a parallel pass over rows. The one `unsafe` of the crate lives here: tasks
//! write disjoint slots of one output buffer ([`SharedSlice`]).

use std::ops::Range;

use rayon::prelude::*;

use super::{Csr, Dedup};
use crate::edges::EdgeList;

/// Sums `value(i)` per column index `cols[i]`, in parallel over chunks.
pub(crate) fn column_sums<V>(n: usize, cols: &[u32], value: impl Fn(usize) -> V + Sync) -> Vec<V>
where
    V: Copy + Default + Send + Sync + std::ops::AddAssign,
{
    let chunk = cols.len().div_ceil(chunk_count(cols.len(), n)).max(1);
    cols.par_chunks(chunk)
        .enumerate()
        .map(|(k, part)| {
            let mut acc = vec![V::default(); n];
            for (i, &c) in part.iter().enumerate() {
                acc[c as usize] += value(k * chunk + i);
            }
            acc
        })
        .reduce_with(|mut a, b| {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
            a
        })
        .unwrap_or_else(|| vec![V::default(); n])
}

/// How many chunks a parallel pass over `len` items with an `n`-long
/// accumulator per chunk should use: one per thread, but never so many that
/// the accumulators outweigh the items.
pub(crate) fn chunk_count(len: usize, n: usize) -> usize {
    rayon::current_num_threads().min(1 + len / n.max(1)).max(1)
}

/// One stored entry while building: a column, or a column and a weight.
pub(crate) trait Entry: Copy + Default + Send + Sync {
    fn make(col: u32, weight: f32) -> Self;
    fn col(&self) -> u32;
    /// Sorts a row by column, keeping duplicates in input order.
    fn sort_row(row: &mut [Self]);
    /// Merges a run of entries with the same column.
    fn merge(group: &[Self], how: Dedup) -> Self;
    fn into_csr(n: usize, indptr: Vec<usize>, data: Vec<Self>) -> Csr;
}

impl Entry for u32 {
    fn make(col: u32, _: f32) -> Self {
        col
    }
    fn col(&self) -> u32 {
        *self
    }
    fn sort_row(row: &mut [Self]) {
        // Equal columns are indistinguishable: an unstable sort is stable here.
        row.sort_unstable();
    }
    fn merge(group: &[Self], _: Dedup) -> Self {
        group[0]
    }
    fn into_csr(n: usize, indptr: Vec<usize>, data: Vec<Self>) -> Csr {
        Csr::from_parts_unchecked(n, indptr, data, None)
    }
}

impl Entry for (u32, f32) {
    fn make(col: u32, weight: f32) -> Self {
        (col, weight)
    }
    fn col(&self) -> u32 {
        self.0
    }
    fn sort_row(row: &mut [Self]) {
        row.sort_by_key(|e| e.0);
    }
    fn merge(group: &[Self], how: Dedup) -> Self {
        if group.len() == 1 {
            return group[0];
        }
        // Sum in a canonical order (sorted weights) so the result does not depend
        // on input order: `(i, j)` and `(j, i)` of a symmetrised graph agree exactly.
        let sorted_sum = || {
            let mut ws: Vec<f32> = group.iter().map(|e| e.1).collect();
            ws.sort_by(f32::total_cmp);
            ws.iter().map(|&w| w as f64).sum::<f64>()
        };
        let ws = group.iter().map(|e| e.1);
        let w = match how {
            Dedup::Sum => sorted_sum() as f32,
            Dedup::Mean => (sorted_sum() / group.len() as f64) as f32,
            Dedup::Min => ws.fold(f32::INFINITY, f32::min),
            Dedup::Max => ws.fold(f32::NEG_INFINITY, f32::max),
            Dedup::First => group[0].1,
        };
        (group[0].0, w)
    }
    fn into_csr(n: usize, indptr: Vec<usize>, data: Vec<Self>) -> Csr {
        let (indices, weights) = data.into_par_iter().unzip();
        Csr::from_parts_unchecked(n, indptr, indices, Some(weights))
    }
}

/// A source of `(row, entry)` items for [`build`], visited by ranges so that
/// each parallel chunk walks its own part.
pub(crate) trait Items<T>: Sync {
    fn len(&self) -> usize;
    fn visit(&self, range: Range<usize>, f: impl FnMut(u32, T));
}

pub(crate) struct EdgeItems<'a> {
    pub(crate) edges: &'a EdgeList,
    /// Also emit every edge reversed (items `len..2 len`).
    pub(crate) both: bool,
}

impl<T: Entry> Items<T> for EdgeItems<'_> {
    fn len(&self) -> usize {
        self.edges.src.len() * (1 + usize::from(self.both))
    }
    fn visit(&self, range: Range<usize>, mut f: impl FnMut(u32, T)) {
        let e = self.edges;
        let m = e.src.len();
        let w = |i: usize| e.weight.as_ref().map_or(1.0, |w| w[i]);
        for i in range {
            if i < m {
                f(e.src[i], T::make(e.dst[i], w(i)));
            } else {
                let i = i - m;
                f(e.dst[i], T::make(e.src[i], w(i)));
            }
        }
    }
}

pub(crate) struct CsrItems<'a> {
    pub(crate) csr: &'a Csr,
    /// Emit each entry `(r, c)` (items `0..nnz`).
    pub(crate) forward: bool,
    /// Emit each entry reversed, `(c, r)` (items after the forward ones).
    pub(crate) backward: bool,
}

impl<T: Entry> Items<T> for CsrItems<'_> {
    fn len(&self) -> usize {
        self.csr.nnz() * (usize::from(self.forward) + usize::from(self.backward))
    }
    fn visit(&self, range: Range<usize>, mut f: impl FnMut(u32, T)) {
        let m = self.csr.nnz();
        let (fwd, bwd) = if self.forward {
            (
                range.start.min(m)..range.end.min(m),
                range.start.max(m) - m..range.end.max(m) - m,
            )
        } else {
            (0..0, range)
        };
        let walk = |part: Range<usize>, f: &mut dyn FnMut(u32, u32, usize)| {
            let indptr = &self.csr.indptr;
            // The row holding entry `part.start`: the last row starting at or before it.
            let mut r = indptr.partition_point(|&p| p <= part.start).saturating_sub(1);
            for i in part {
                while indptr[r + 1] <= i {
                    r += 1;
                }
                f(r as u32, self.csr.indices[i], i);
            }
        };
        let w = |i: usize| self.csr.weights.as_ref().map_or(1.0, |w| w[i]);
        walk(fwd, &mut |r, c, i| f(r, T::make(c, w(i))));
        walk(bwd, &mut |r, c, i| f(c, T::make(r, w(i))));
    }
}

/// Stable parallel counting sort of `items` by row, then each row sorted by
/// column and, if `dedup` is given, its duplicates merged.
pub(crate) fn build<T: Entry, I: Items<T>>(n: usize, items: &I, dedup: Option<Dedup>) -> Csr {
    let len = items.len();
    let chunks = chunk_count(len, n);
    let size = len.div_ceil(chunks).max(1);
    let ranges: Vec<Range<usize>> = (0..len).step_by(size).map(|s| s..(s + size).min(len)).collect();

    // Per-chunk row counts, then each chunk's first slot in every row.
    let mut counts: Vec<Vec<usize>> = ranges
        .par_iter()
        .map(|range| {
            let mut c = vec![0usize; n];
            items.visit(range.clone(), |r, _| c[r as usize] += 1);
            c
        })
        .collect();
    let mut row_len = vec![0usize; n];
    for c in &counts {
        row_len.par_iter_mut().zip(c).for_each(|(t, &k)| *t += k);
    }
    let mut indptr = Vec::with_capacity(n + 1);
    indptr.push(0);
    let mut total = 0;
    for &k in &row_len {
        total += k;
        indptr.push(total);
    }
    let mut next = indptr[..n].to_vec();
    for c in counts.iter_mut() {
        c.par_iter_mut().zip(next.par_iter_mut()).for_each(|(k, slot)| {
            let start = *slot;
            *slot += *k;
            *k = start;
        });
    }
    drop(next);

    let mut data = vec![T::default(); len];
    let out = SharedSlice(data.as_mut_ptr());
    ranges
        .par_iter()
        .zip(counts.par_iter_mut())
        .for_each(|(range, slots)| {
            items.visit(range.clone(), |r, e| {
                let p = &mut slots[r as usize];
                // SAFETY: `p` walks this chunk's own slots of row `r`, which no
                // other chunk writes, and stays below `len` (the counts add up).
                unsafe { out.write(*p, e) };
                *p += 1;
            });
        });
    drop(counts);

    let mut new_len = vec![0usize; n];
    par_rows_mut(0, &indptr, &mut data, &mut new_len, &|_, row, len| {
        T::sort_row(row);
        *len = match dedup {
            Some(how) => dedup_row(row, how),
            None => row.len(),
        };
    });
    if dedup.is_some() {
        compact(&mut indptr, &mut data, &new_len);
    }
    T::into_csr(n, indptr, data)
}

/// Merges runs of equal columns in a sorted row, in place; returns the new length.
pub(crate) fn dedup_row<T: Entry>(row: &mut [T], how: Dedup) -> usize {
    let (mut w, mut i) = (0, 0);
    while i < row.len() {
        let mut j = i + 1;
        while j < row.len() && row[j].col() == row[i].col() {
            j += 1;
        }
        row[w] = T::merge(&row[i..j], how);
        w += 1;
        i = j;
    }
    w
}

/// Moves each row's first `lens[r]` entries down so rows are contiguous again.
pub(crate) fn compact<T: Copy>(indptr: &mut [usize], data: &mut Vec<T>, lens: &[usize]) {
    let mut w = 0;
    for (r, &len) in lens.iter().enumerate() {
        let start = indptr[r];
        data.copy_within(start..start + len, w);
        indptr[r] = w;
        w += len;
    }
    indptr[lens.len()] = w;
    data.truncate(w);
    data.shrink_to_fit();
}

/// Calls `f(row, entries, out)` for every row, in parallel, splitting rows in
/// halves while a part holds enough entries to be worth a task.
pub(crate) fn par_rows_mut<T: Send, O: Send, F>(
    first_row: usize,
    indptr: &[usize],
    data: &mut [T],
    out: &mut [O],
    f: &F,
) where
    F: Fn(usize, &mut [T], &mut O) + Sync,
{
    const GRAIN: usize = 1 << 14;
    let rows = out.len();
    if rows > 1 && data.len() > GRAIN {
        let mid = rows / 2;
        let (d1, d2) = data.split_at_mut(indptr[mid] - indptr[0]);
        let (o1, o2) = out.split_at_mut(mid);
        rayon::join(
            || par_rows_mut(first_row, &indptr[..=mid], d1, o1, f),
            || par_rows_mut(first_row + mid, &indptr[mid..], d2, o2, f),
        );
    } else {
        let base = indptr[0];
        for (r, o) in out.iter_mut().enumerate() {
            f(
                first_row + r,
                &mut data[indptr[r] - base..indptr[r + 1] - base],
                o,
            );
        }
    }
}

/// A raw pointer to a buffer whose slots parallel tasks write disjointly.
pub(crate) struct SharedSlice<T>(*mut T);

// SAFETY: only used for disjoint writes, each slot by one task (see `build`).
unsafe impl<T: Send> Sync for SharedSlice<T> {}

impl<T> SharedSlice<T> {
    /// # Safety
    /// `i` must be in bounds and written by no other thread.
    unsafe fn write(&self, i: usize, value: T) {
        unsafe { self.0.add(i).write(value) }
    }
}
