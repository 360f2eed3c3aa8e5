//! Dead-layer removal: a layer no output depends on would still cost
//! hardware and leave unread wires, so it is dropped (and named in
//! `Meta::removed`, so the user hears about it).

use super::{Pass, PassError};
use crate::ir::Graph;
use petgraph::Direction;

pub struct RemoveDead;

impl Pass for RemoveDead {
    fn name(&self) -> &'static str {
        "remove_dead"
    }
    fn description(&self) -> &'static str {
        "drop layers that no output depends on"
    }
    fn run(&self, g: &mut Graph) -> Result<(), PassError> {
        let mut live = std::collections::HashSet::new();
        let mut stack = g.outputs.clone();
        while let Some(n) = stack.pop() {
            if live.insert(n) {
                stack.extend(g.g.neighbors_directed(n, Direction::Incoming));
            }
        }
        // Inputs are part of the interface even when unread.
        let dead: Vec<_> = g
            .topo()
            .into_iter()
            .filter(|n| !live.contains(n) && !g.inputs.contains(n))
            .collect();
        for n in dead {
            let node = g.g.remove_node(n).expect("node exists");
            g.meta.removed.push(node.name);
        }
        Ok(())
    }
}
