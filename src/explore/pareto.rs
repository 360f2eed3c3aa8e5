//! Pareto fronts over objectives that are all minimized (negate one to
//! maximize it).

/// `a` dominates `b`: no worse in every objective and better in one.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
}

/// Whether each point is on the front: dominated by no other point.
/// Points with equal objectives do not dominate each other, so duplicates
/// are on the front together. Quadratic, which is nothing next to the cost
/// of compiling the points.
pub fn front<P: AsRef<[f64]>>(points: &[P]) -> Vec<bool> {
    points
        .iter()
        .map(|p| !points.iter().any(|q| dominates(q.as_ref(), p.as_ref())))
        .collect()
}
