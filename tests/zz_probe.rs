use neurtl::datapath::Kind;
use neurtl::ir::CompileOptions;
#[test]
fn probe() {
    let f = std::env::var("PROBE").unwrap();
    let share = std::env::var("SHARE").map_or(true, |v| v == "1");
    let opts = CompileOptions { share, ..Default::default() };
    let c = neurtl::compile::compile_file(std::path::Path::new(&f), opts, None).unwrap();
    let dp = c.datapath().unwrap();
    let s = neurtl::datapath::schedule::by_clock(&dp, 5.0, 0);
    let n = dp.nodes.len();
    // adder depth from the layer's inputs
    let mut depth = vec![0u32; n];
    for i in 0..n {
        let l = dp.layer_of[i];
        let d = dp.nodes[i].kind.operands().filter(|o| dp.layer_of[o.index()] == l).map(|o| depth[o.index()]).max();
        let own = matches!(dp.nodes[i].kind, Kind::Add { .. }) as u32;
        depth[i] = d.map_or(own, |d| d + own);
    }
    for (li, layer) in dp.layers.iter().enumerate() {
        let maxd = (0..n).filter(|&i| dp.layer_of[i] as usize == li).map(|i| depth[i]).max().unwrap_or(0);
        if maxd < 2 { continue; }
        let mut prof = vec![];
        for cut in 0..=maxd {
            // cost: nodes of depth <= cut (or earlier layers) read by a node of this layer with depth > cut
            let mut reg = vec![false; n];
            for i in 0..n {
                if dp.layer_of[i] as usize != li || depth[i] <= cut { continue; }
                for o in dp.nodes[i].kind.operands() {
                    let early = dp.layer_of[o.index()] as usize != li || depth[o.index()] <= cut;
                    if early && !matches!(dp.nodes[o.index()].kind, Kind::Const(_)) { reg[o.index()] = true; }
                }
            }
            let bits: u64 = (0..n).filter(|&i| reg[i]).map(|i| dp.nodes[i].fmt.width as u64).sum();
            let count = (0..n).filter(|&i| dp.layer_of[i] as usize == li && depth[i] == cut).count();
            prof.push((cut, count, bits));
        }
        println!("{} {:?}", layer.name, prof);
    }
    let mut per = vec![0u64; s.latency as usize + 2];
    for (i, nd) in dp.nodes.iter().enumerate() {
        for d in 0..s.delay[i] { per[(s.cycle[i] + d) as usize] += nd.fmt.width as u64; }
    }
    println!("latency {} per boundary {:?}", s.latency, per);
}
