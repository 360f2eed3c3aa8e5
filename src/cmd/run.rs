//! `neurtl run MODEL`: compile, simulate in Verilator, summarize.

use super::{PipeArgs, VectorArgs, build_dir, spinner};
use anyhow::{Context, Result};
use neurtl::compile::Compiled;
use neurtl::golden::wire_to_real;
use neurtl::report_html::{Accuracy, OutputError, Page, Quality, Simulation};
use neurtl::sim::{Simulator, simulate};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The model JSON file.
    pub model: PathBuf,
    /// Build directory (default: build/<name of the model file's directory>).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// Clock frequency in MHz, to express the latency in ns.
    #[arg(long, default_value_t = super::DEFAULT_CLOCK_MHZ)]
    pub clock: f64,
    #[arg(long, value_enum, default_value = "verilator")]
    pub simulator: Simulator,
    #[command(flatten)]
    pub pipe: PipeArgs,
    #[command(flatten)]
    pub vec: VectorArgs,
    /// Class labels for `--inputs` (.npy or CSV, one integer per sample):
    /// report the accuracy of the golden and float models.
    #[arg(long, requires = "inputs")]
    pub labels: Option<PathBuf>,
}

/// The predicted class per sample: the value of the model's argmax output
/// when it has one, else the index of the largest element of output 0.
fn predictions(g: &neurtl::ir::Graph, outputs: &[f64]) -> Vec<usize> {
    let n_out = g.output_elements();
    let mut off = 0;
    let mut pick = None;
    for &o in &g.outputs {
        if matches!(g.node(o).op, neurtl::ir::Op::Argmax) {
            pick = Some((off, 1));
            break;
        }
        off += g.node(o).size();
    }
    let (off, len) = pick.unwrap_or((0, g.node(g.outputs[0]).size()));
    outputs
        .chunks(n_out)
        .map(|s| {
            let v = &s[off..off + len];
            if len == 1 {
                v[0] as usize
            } else {
                (0..len).fold(0, |b, i| if v[i] > v[b] { i } else { b })
            }
        })
        .collect()
}

/// Largest and mean |golden − float| per output over the samples, in real
/// units.
fn float_error(c: &Compiled, raw_in: &[i128]) -> Result<Vec<OutputError>> {
    let golden = c.golden()?;
    let n_in = golden.input_len();
    let in_el = golden.input_elements();
    let out_el = golden.output_elements();
    let names: Vec<String> = c
        .graph
        .outputs
        .iter()
        .flat_map(|&o| std::iter::repeat_n(c.graph.node(o).name.clone(), c.graph.node(o).size()))
        .collect();
    // Per output: the error sum and the number of values, for the mean.
    let mut errs: Vec<(OutputError, f64, usize)> = vec![];
    for sample in raw_in.chunks(n_in) {
        let real: Vec<f64> = sample
            .iter()
            .zip(&in_el)
            .map(|(&r, &(f, b))| wire_to_real(r, f, b))
            .collect();
        let fl = c.float.run(&real);
        let gd = golden.run(sample);
        for (k, (g, f)) in gd.iter().zip(&fl).enumerate() {
            let e = (wire_to_real(*g, out_el[k].0, out_el[k].1) - f).abs();
            match errs.iter_mut().find(|w| w.0.output == names[k]) {
                Some(w) => {
                    w.0.max = w.0.max.max(e);
                    w.1 += e;
                    w.2 += 1;
                }
                None => errs.push((
                    OutputError {
                        output: names[k].clone(),
                        max: e,
                        mean: 0.0,
                    },
                    e,
                    1,
                )),
            }
        }
    }
    Ok(errs
        .into_iter()
        .map(|(mut o, sum, n)| {
            o.mean = sum / n as f64;
            o
        })
        .collect())
}

pub fn main(a: Args) -> Result<ExitCode> {
    let stem = a
        .model
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "model".into());
    let parent = a
        .model
        .parent()
        .and_then(|p| p.file_name())
        .map(|s| s.to_string_lossy().to_string());
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("build").join(parent.unwrap_or(stem)));
    let pb = spinner("compiling");
    let super::Built { c, info, n } = build_dir(&a.model, &out, &a.pipe, &a.vec, 10_000)?;
    let (top, latency) = (info.top.clone(), info.latency);
    pb.set_message(format!("simulating {n} vectors ({:?})", a.simulator));
    let r = simulate(&out, &top, a.simulator)?;
    pb.finish_and_clear();
    for d in &r.details {
        println!("{d}");
    }
    let golden = c.golden()?;
    let inputs = super::input_samples(&c, &golden, &a.vec, 10_000)?;
    let compared = (inputs.len() / golden.input_len().max(1)).min(2000);
    let err = float_error(&c, &inputs[..compared * golden.input_len()])?;
    println!("model        {} ({})", c.graph.name, a.model.display());
    println!("build        {} (top `{top}`)", out.display());
    println!(
        "latency      {latency} cycles = {:.1} ns at {} MHz (report); testbench measured {} cycles",
        latency as f64 * 1000.0 / a.clock,
        a.clock,
        r.latency
    );
    if info.ii == 1 {
        println!(
            "vectors      {} through {:?}, one per clock",
            r.vectors, a.simulator
        );
    } else {
        println!(
            "vectors      {} through {:?}, one every {} cycles (II)",
            r.vectors, a.simulator, info.ii
        );
    }
    if let Some(f) = &info.folded {
        println!(
            "folded       {} PEs x {} inputs/cycle, {} cells per PE; schedule {} cycles, PE utilization {:.1}%, memory {} weight + {} start-value bits",
            f.pes,
            f.lanes,
            f.cells_per_pe,
            f.schedule_cycles,
            100.0 * f.utilization,
            f.weight_memory_bits,
            f.start_value_memory_bits
        );
    }
    println!("mismatches   {}", r.mismatches);
    let from = match &a.vec.inputs {
        Some(p) => format!("from {}", p.display()),
        // Random codes cover each input's whole range, where narrow layer
        // types saturate: the error is a worst case, not typical.
        None => "random over the full input range".to_string(),
    };
    for e in &err {
        println!(
            "golden vs float: max |error| on `{}` = {:.6} ({compared} samples, {from})",
            e.output, e.max
        );
    }
    let mut accuracy = None;
    if let Some(lp) = &a.labels {
        let t = neurtl::vectors::read_table(lp)?;
        let mut labels: Vec<usize> = t.values.iter().map(|&v| v as usize).collect();
        let n_samples = inputs.len() / golden.input_len().max(1);
        // `--vectors` keeps the first samples of `--inputs`; keep their labels.
        if a.vec.vectors.is_some() && t.cols == 1 && labels.len() > n_samples {
            labels.truncate(n_samples);
        }
        if t.cols != 1 || labels.len() != n_samples {
            anyhow::bail!(
                "{}: expected one label per sample ({n_samples}), got {} rows of {} columns",
                lp.display(),
                t.values.len() / t.cols.max(1),
                t.cols
            );
        }
        let out_el = golden.output_elements();
        let mut g_out = vec![];
        golden.run_batch(&inputs, &mut g_out);
        let g_real: Vec<f64> = g_out
            .iter()
            .enumerate()
            .map(|(k, &v)| wire_to_real(v, out_el[k % out_el.len()].0, out_el[k % out_el.len()].1))
            .collect();
        let in_el = golden.input_elements();
        let mut f_out = vec![];
        for s in inputs.chunks(golden.input_len()) {
            let real: Vec<f64> = s
                .iter()
                .zip(&in_el)
                .map(|(&r, &(f, b))| wire_to_real(r, f, b))
                .collect();
            f_out.extend(c.float.run(&real));
        }
        let acc = |p: Vec<usize>| {
            let hit = p.iter().zip(&labels).filter(|(a, b)| a == b).count();
            (hit, 100.0 * hit as f64 / labels.len().max(1) as f64)
        };
        let (gh, gp) = acc(predictions(&c.graph, &g_real));
        let (fh, fp) = acc(predictions(&c.graph, &f_out));
        accuracy = Some(Accuracy {
            samples: labels.len(),
            golden_hits: gh,
            float_hits: fh,
        });
        println!(
            "accuracy     golden model {gp:.2}% ({gh}/{}), float reference {fp:.2}%",
            labels.len()
        );
        if r.mismatches == 0 && r.vectors as usize == n {
            println!(
                "             the RTL reproduced every golden output, so its accuracy is the same"
            );
        }
    }
    let ok = super::sim_ok(&r, n, latency);
    let page = Page {
        graph: &c.graph,
        info: &info,
        model: a.model.display().to_string(),
        clock_mhz: a.clock,
        simulation: Some(Simulation {
            simulator: format!("{:?}", a.simulator),
            vectors_expected: n,
            vectors: r.vectors,
            mismatches: r.mismatches,
            measured_latency: r.latency,
            passed: ok,
        }),
        quality: Some(Quality {
            samples: compared,
            source: match &a.vec.inputs {
                Some(_) => from,
                None => {
                    format!("{from}, where narrow layer types saturate: a worst case, not typical")
                }
            },
            errors: err,
            accuracy,
        }),
    };
    let html = out.join("report.html");
    std::fs::write(&html, neurtl::report_html::render(&page)?)
        .with_context(|| format!("writing {}", html.display()))?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
