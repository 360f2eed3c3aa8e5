//! Weight rows that leave their zeros out when most of a row is zero.
//!
//! A fixed 0/1 mask on a dense layer (structural sparsity) is zero
//! weights. The hardware never sees them (`prune_constants` drops their
//! terms), so neither should the compiler's memory: a row with fewer
//! non-zero entries than half its length keeps only `(column, value)`
//! pairs, which cost twice a plain entry. Both storages mean the same
//! row; every reader goes through `len`, `get` and `nonzeros`, so no pass
//! depends on which one a row has.

/// A value with a zero that a row may leave out.
pub trait Zero: Copy + PartialEq {
    const ZERO: Self;
}

impl Zero for f64 {
    const ZERO: f64 = 0.0;
}

impl Zero for i128 {
    const ZERO: i128 = 0;
}

/// One row of a weight matrix.
#[derive(Debug, Clone, PartialEq)]
pub enum Row<T> {
    Dense(Vec<T>),
    /// `len` entries, zero except at the listed columns (ascending).
    Sparse {
        len: usize,
        entries: Vec<(u32, T)>,
    },
}

impl<T: Zero> Row<T> {
    /// The row of `values`, stored whichever way is smaller.
    pub fn new(values: Vec<T>) -> Row<T> {
        let nonzero = values.iter().filter(|v| **v != T::ZERO).count();
        if sparse_is_smaller(nonzero, values.len()) {
            let entries = values
                .iter()
                .enumerate()
                .filter(|(_, v)| **v != T::ZERO)
                .map(|(c, &v)| (c as u32, v))
                .collect();
            Row::Sparse {
                len: values.len(),
                entries,
            }
        } else {
            Row::Dense(values)
        }
    }

    /// The row of `len` entries that is `v` at each listed column and zero
    /// elsewhere. The columns must ascend and be below `len` (the reader
    /// checks this, naming the entry).
    pub fn from_entries(len: usize, mut entries: Vec<(u32, T)>) -> Row<T> {
        debug_assert!(entries.windows(2).all(|p| p[0].0 < p[1].0));
        debug_assert!(entries.last().is_none_or(|e| (e.0 as usize) < len));
        entries.retain(|e| e.1 != T::ZERO);
        if sparse_is_smaller(entries.len(), len) {
            entries.shrink_to_fit();
            Row::Sparse { len, entries }
        } else {
            let mut values = vec![T::ZERO; len];
            for (c, v) in entries {
                values[c as usize] = v;
            }
            Row::Dense(values)
        }
    }

    /// Entries, zeros included.
    pub fn len(&self) -> usize {
        match self {
            Row::Dense(v) => v.len(),
            Row::Sparse { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entry `c` (below `len`).
    pub fn get(&self, c: usize) -> T {
        match self {
            Row::Dense(v) => v[c],
            Row::Sparse { len, entries } => {
                assert!(c < *len, "column {c} of a row of {len}");
                match entries.binary_search_by_key(&(c as u32), |e| e.0) {
                    Ok(i) => entries[i].1,
                    Err(_) => T::ZERO,
                }
            }
        }
    }

    /// The entries that are not zero, with their columns, in column order.
    pub fn nonzeros(&self) -> impl Iterator<Item = (usize, T)> + '_ {
        let (dense, sparse) = match self {
            Row::Dense(v) => (&v[..], &[][..]),
            Row::Sparse { entries, .. } => (&[][..], &entries[..]),
        };
        let dense = dense.iter().enumerate().map(|(c, &v)| (c, v));
        let sparse = sparse.iter().map(|&(c, v)| (c as usize, v));
        dense.chain(sparse).filter(|e| e.1 != T::ZERO)
    }

    /// Every entry, zeros included.
    pub fn to_dense(&self) -> Vec<T> {
        match self {
            Row::Dense(v) => v.clone(),
            Row::Sparse { len, entries } => {
                let mut values = vec![T::ZERO; *len];
                for &(c, v) in entries {
                    values[c as usize] = v;
                }
                values
            }
        }
    }

    /// `f(column, value)` on every non-zero entry; zeros stay zero (so
    /// a zero weight times an infinite batchnorm scale is still zero, as
    /// the hardware that has no term for it computes).
    pub fn try_map<U: Zero, E>(
        &self,
        mut f: impl FnMut(usize, T) -> Result<U, E>,
    ) -> Result<Row<U>, E> {
        Ok(match self {
            Row::Dense(v) => Row::new(
                v.iter()
                    .enumerate()
                    .map(|(c, &w)| if w == T::ZERO { Ok(U::ZERO) } else { f(c, w) })
                    .collect::<Result<_, _>>()?,
            ),
            Row::Sparse { len, entries } => Row::from_entries(
                *len,
                entries
                    .iter()
                    .filter(|e| e.1 != T::ZERO)
                    .map(|&(c, w)| Ok((c, f(c as usize, w)?)))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// `f` on every non-zero entry (see `try_map`).
    pub fn map<U: Zero>(&self, mut f: impl FnMut(T) -> U) -> Row<U> {
        self.try_map(|_, w| Ok::<U, std::convert::Infallible>(f(w)))
            .unwrap_or_else(|e| match e {})
    }
}

/// A `(column, value)` pair costs two plain entries (`u32` padded to the
/// value's alignment), so a row goes sparse below half full.
fn sparse_is_smaller(nonzero: usize, len: usize) -> bool {
    2 * nonzero < len
}

/// Rows `values`, each stored whichever way is smaller.
pub fn rows_of<T: Zero>(values: Vec<Vec<T>>) -> Vec<Row<T>> {
    values.into_iter().map(Row::new).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row in both storages must read the same through every accessor:
    /// the plain vector is the reference.
    #[test]
    fn both_storages_read_as_the_plain_row() {
        let mut seed = 7u64;
        for len in [0usize, 1, 2, 5, 16, 33] {
            for density in [0.0, 0.1, 0.4, 0.5, 0.6, 1.0] {
                let values: Vec<i128> = (0..len)
                    .map(|_| {
                        seed = seed
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        let r = (seed >> 33) as f64 / (1u64 << 31) as f64;
                        if r < density {
                            (seed >> 20) as i128 % 9 - 4
                        } else {
                            0
                        }
                    })
                    .collect();
                let nz: Vec<(usize, i128)> = values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| **v != 0)
                    .map(|(c, &v)| (c, v))
                    .collect();
                let chosen = Row::new(values.clone());
                let entries = nz.iter().map(|&(c, v)| (c as u32, v)).collect();
                let stored_sparse = Row::Sparse { len, entries };
                let stored_dense = Row::Dense(values.clone());
                for row in [&chosen, &stored_sparse, &stored_dense] {
                    assert_eq!(row.len(), len);
                    assert_eq!(row.to_dense(), values);
                    assert_eq!(row.nonzeros().collect::<Vec<_>>(), nz);
                    for (c, &v) in values.iter().enumerate() {
                        assert_eq!(row.get(c), v);
                    }
                    let doubled = row.map(|w| 2 * w);
                    let want: Vec<i128> = values.iter().map(|w| 2 * w).collect();
                    assert_eq!(doubled.to_dense(), want);
                }
                assert_eq!(
                    matches!(chosen, Row::Sparse { .. }),
                    2 * nz.len() < len,
                    "storage of {nz:?} in {len}"
                );
            }
        }
    }

    #[test]
    fn zeros_stay_zero_and_new_zeros_drop_out() {
        let row = Row::new(vec![0.0, 0.0, 0.0, 0.5, 0.0, 0.0]);
        assert!(matches!(row, Row::Sparse { ref entries, .. } if entries.len() == 1));
        let inf = row.map(|w| w * f64::INFINITY);
        assert_eq!(inf.get(0), 0.0);
        assert_eq!(inf.get(3), f64::INFINITY);
        let gone = row.map(|_| 0.0);
        assert!(matches!(gone, Row::Sparse { ref entries, .. } if entries.is_empty()));
        let err: Result<Row<f64>, usize> = row.try_map(|c, _| Err(c));
        assert_eq!(err, Err(3));
    }
}
