//! `report.html`: `compile` writes it, `run` rewrites it with the simulation
//! and the float comparison. Checks that it shows every layer once, draws
//! the graph's edges and register boundaries, escapes names from the model
//! and loads nothing from outside; an ignored test renders it in headless
//! Chromium.

mod common;

use common::neurtl_ok as neurtl;
use neurtl::ir::{CompileOptions, Graph};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Compile `model` into `dir`; the page and report.json.
fn compile(model: &Path, dir: &Path) -> (String, Value) {
    compile_with(model, dir, &[])
}

fn compile_with(model: &Path, dir: &Path, extra: &[&str]) -> (String, Value) {
    let (m, d) = (model.to_str().unwrap(), dir.to_str().unwrap());
    let mut args = vec!["compile", m, "-o", d, "--vectors", "10"];
    args.extend(extra);
    neurtl(&args);
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html written");
    let report =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    (html, report)
}

fn graph(model: &Path) -> Graph {
    neurtl::compile::compile_file(model, CompileOptions::default(), None)
        .unwrap()
        .graph
}

/// The text between tags, one trimmed piece per line, entities decoded:
/// what a reader sees.
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push('\n');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#x27;", "'")
                .replace("&#x2F;", "/")
                .replace("&amp;", "&")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Values of attribute `attr` on every element that starts with `open`.
fn attrs(html: &str, open: &str, attr: &str) -> Vec<String> {
    html.match_indices(open)
        .map(|(i, _)| {
            let tag = &html[i..i + html[i..].find('>').unwrap()];
            let key = format!(" {attr}=\"");
            let s = tag.find(&key).unwrap_or_else(|| panic!("{attr} in {tag}")) + key.len();
            tag[s..s + tag[s..].find('"').unwrap()].to_string()
        })
        .collect()
}

fn num(s: &str) -> f64 {
    s.parse().unwrap_or_else(|_| panic!("not a number: {s}"))
}

/// The page loads nothing: no scripts, stylesheets, images or fonts from
/// elsewhere (the only URL is the SVG namespace).
fn assert_self_contained(html: &str) {
    for bad in [
        "<script", "<link", "<img", "<iframe", "@import", "src=", "url(http",
    ] {
        assert!(!html.contains(bad), "page contains {bad}");
    }
    let urls = html.matches("http").count();
    let ns = html.matches("http://www.w3.org/2000/svg").count();
    assert_eq!(urls, ns, "a URL other than the SVG namespace");
}

/// Every layer of report.json is named and drawn once; every operand is an
/// edge pointing down; boxes do not overlap; one register boundary per
/// cycle of latency; each balancing delay is labelled.
fn check_page(model: &Path, html: &str, report: &Value) {
    assert_self_contained(html);
    let text = visible_text(html);
    let layers = report["layers"].as_array().unwrap();
    for l in layers {
        let name = l["name"].as_str().unwrap();
        assert!(
            text.lines().any(|t| t == name),
            "layer {name} not named on the page"
        );
    }
    assert_eq!(html.matches("<g class=\"node ").count(), layers.len());

    let xs = attrs(html, "<rect class=\"box\"", "x");
    let ys = attrs(html, "<rect class=\"box\"", "y");
    let ws = attrs(html, "<rect class=\"box\"", "width");
    let hs = attrs(html, "<rect class=\"box\"", "height");
    assert_eq!(xs.len(), layers.len());
    let boxes: Vec<[f64; 4]> = (0..xs.len())
        .map(|i| [num(&xs[i]), num(&ys[i]), num(&ws[i]), num(&hs[i])])
        .collect();
    for (i, a) in boxes.iter().enumerate() {
        for b in &boxes[i + 1..] {
            let apart = a[0] + a[2] <= b[0]
                || b[0] + b[2] <= a[0]
                || a[1] + a[3] <= b[1]
                || b[1] + b[3] <= a[1];
            assert!(apart, "boxes overlap: {a:?} {b:?}");
        }
    }

    let g = graph(model);
    let paths = attrs(html, "<path class=\"edge\"", "d");
    assert_eq!(paths.len(), g.g.edge_count(), "one edge per operand");
    for p in &paths {
        let coords: Vec<f64> = p
            .split(|c: char| c == ' ' || c == ',' || c.is_ascii_alphabetic())
            .filter(|s| !s.is_empty())
            .map(num)
            .collect();
        assert!(coords[coords.len() - 1] > coords[1], "edge {p} goes up");
    }
    let latency = report["latency_cycles"].as_u64().unwrap() as usize;
    assert_eq!(html.matches("<line class=\"bar\"").count(), latency);
    // A balancing delay is an edge into a layer that starts after its
    // operand is ready, by the schedule report.json states.
    let cycle = |name: &str, key: &str| {
        layers.iter().find(|l| l["name"] == name).unwrap()[key]
            .as_u64()
            .unwrap()
    };
    let delays =
        g.g.edge_indices()
            .filter(|&e| {
                let (s, t) = g.g.edge_endpoints(e).unwrap();
                let (s, t) = (&g.node(s).name, &g.node(t).name);
                cycle(t, "start_cycle") > cycle(s, "ready_cycle")
            })
            .count();
    assert_eq!(html.matches("<text class=\"edge-label\"").count(), delays);
}

#[test]
fn compile_writes_a_page_with_every_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let model = repo("tests/models/tiny.json");
    let (html, report) = compile(&model, tmp.path());
    check_page(&model, &html, &report);
    assert!(html.contains("Not simulated"));
    assert!(html.contains("Not measured"));
}

#[test]
fn branching_onnx_graph_shows_its_skip_connections() {
    let tmp = tempfile::tempdir().unwrap();
    let model = repo("tests/fixtures/onnx/matmul_add.onnx");
    // A register after every layer, so the skip connections skip stages.
    let (html, report) = compile_with(&model, tmp.path(), &["--pipeline", "layer"]);
    check_page(&model, &html, &report);
    // The fixture's add reads relu1 from two stages back: the page must
    // show that balancing delay, not just straight chains. (The concat's
    // delay is not on an edge: the scheduler moves the cast of relu1
    // into relu1's stage and delays its result instead.)
    assert!(html.matches("<text class=\"edge-label\"").count() >= 1);
    let ops: Vec<&str> = report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["op"].as_str().unwrap())
        .collect();
    assert!(ops.contains(&"concat") && ops.contains(&"add"));
}

#[test]
fn names_from_the_model_are_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let evil = "<script>alert(\"x&y\")</script>";
    let model = json!({
        "format": "neurtl-model", "version": 1, "name": "m<i>&amp;",
        "inputs": [{"name": "in'\"", "shape": [2], "type": "fixed<6,3>"}],
        "layers": [
            {"name": evil, "op": "dense", "input": "in'\"", "units": 2,
             "weights": [[0.5, -1.0], [0.25, 0.75]], "bias": [0.0, 0.0],
             "weight_type": "fixed<4,1>", "bias_type": "fixed<4,1>"},
            {"name": "<u>r</u>", "op": "relu", "input": evil}
        ],
        "outputs": ["<u>r</u>"]
    });
    let path = tmp.path().join("evil.json");
    std::fs::write(&path, model.to_string()).unwrap();
    let (html, report) = compile(&path, &tmp.path().join("build"));
    check_page(&path, &html, &report);
    for raw in ["<script", "<i>", "<u>", "in'\""] {
        assert!(!html.contains(raw), "unescaped {raw}");
    }
    assert!(html.contains("&lt;script&gt;"));
    let text = visible_text(&html);
    assert!(text.contains(evil));
    assert!(text.contains("m<i>&amp;"));
}

/// `run` replaces the compile-time page with one that has the simulation
/// verdict, the float comparison and the accuracy that `run` printed.
#[test]
fn run_adds_simulation_and_float_comparison() {
    let tmp = tempfile::tempdir().unwrap();
    let model = repo("tests/models/tiny.json");
    let dir = tmp.path().join("build");
    let (before, _) = compile(&model, &dir);
    assert!(before.contains("Not simulated"));

    // Inputs on the fixed<6,3> grid, labels from a rule the model need not
    // follow: the accuracy is whatever it is, the page must repeat it.
    let (mut xs, mut ys) = (String::new(), String::new());
    for k in 0..40 {
        let v = |j: i32| ((k * 7 + j * 13) % 64 - 32) as f64 / 8.0;
        xs += &format!("{},{},{}\n", v(0), v(1), v(2));
        ys += &format!("{}\n", (v(0) > v(1)) as u8);
    }
    std::fs::write(tmp.path().join("x.csv"), xs).unwrap();
    std::fs::write(tmp.path().join("y.csv"), ys).unwrap();
    let out = neurtl(&[
        "run",
        model.to_str().unwrap(),
        "-o",
        dir.to_str().unwrap(),
        "--inputs",
        tmp.path().join("x.csv").to_str().unwrap(),
        "--labels",
        tmp.path().join("y.csv").to_str().unwrap(),
        "--clock",
        "250",
    ]);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_self_contained(&html);
    let text = visible_text(&html);
    assert!(!html.contains("Not simulated"));
    assert!(html.contains("class=\"verdict pass\""));
    assert!(text.contains("mismatches\n0"), "{text}");
    assert!(text.contains("40 of 40 came out"));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let latency = report["latency_cycles"].as_u64().unwrap();
    assert!(text.contains(&format!(
        "measured latency\n{latency} cycles (scheduled: {latency})"
    )));
    let ii = report["initiation_interval"].as_u64().unwrap();
    assert!(
        text.contains(&format!("measured II\n{ii} cycles (scheduled: {ii})")),
        "{text}"
    );
    assert!(
        text.contains(&format!("= {:.2} ns at 250 MHz", latency as f64 * 4.0)),
        "{text}"
    );

    // "accuracy     golden model 52.50% (21/40), float reference 55.00%"
    let acc = out.lines().find(|l| l.starts_with("accuracy")).unwrap();
    let hits = acc.split('(').nth(1).unwrap().split(')').next().unwrap();
    assert!(
        text.contains(&format!("({hits})")),
        "accuracy {hits} not on the page"
    );
    // "golden vs float: max |error| on `out` = 0.123456 (...)"
    for l in out.lines().filter(|l| l.starts_with("golden vs float")) {
        let name = l.split('`').nth(1).unwrap();
        let printed = num(l.split("= ").nth(1).unwrap().split(' ').next().unwrap());
        // The error table is the last place the output's name appears.
        let row = text
            .rsplit(&format!("\n{name}\n"))
            .next()
            .unwrap_or_else(|| panic!("no error row for {name}"));
        let shown = num(row.lines().next().unwrap());
        assert!(
            (shown - printed).abs() <= 1e-3 * printed.abs() + 1e-6,
            "{name}: page {shown}, run printed {printed}"
        );
    }
    assert!(!text.contains("Not measured"));
}

/// `simulate` puts its verdict on the page: a pass after a clean run, a
/// failure after one expected output is made wrong.
#[test]
fn simulate_records_its_verdict_on_the_page() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("build");
    let (before, _) = compile(&repo("tests/models/tiny.json"), &dir);
    assert!(before.contains("Not simulated"));
    neurtl(&["simulate", dir.to_str().unwrap()]);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let text = visible_text(&html);
    assert!(html.contains("class=\"verdict pass\""), "{text}");
    assert!(text.contains("mismatches\n0"), "{text}");
    assert!(text.contains("10 of 10 came out"), "{text}");

    // flip one bit of the first expected output
    let exp = dir.join("vectors/expected.hex");
    let hex = std::fs::read_to_string(&exp).unwrap();
    let first = hex.lines().next().unwrap();
    let last = first.chars().last().unwrap().to_digit(16).unwrap() ^ 1;
    let wrong = format!("{}{last:x}", &first[..first.len() - 1]);
    std::fs::write(&exp, hex.replacen(first, &wrong, 1)).unwrap();
    let o = common::neurtl_command(&["simulate", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "a wrong output fails the simulation"
    );
    let text = visible_text(&std::fs::read_to_string(dir.join("report.html")).unwrap());
    assert!(!text.contains("mismatches\n0"), "{text}");
}

/// Renders the page in headless Chromium and checks the screenshot shows
/// something. Needs Debian's `chromium`; about a second per page.
#[test]
#[ignore]
fn renders_in_headless_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let model = repo("tests/fixtures/onnx/matmul_add.onnx");
    let (_, _) = compile(&model, tmp.path());
    let png_path = tmp.path().join("page.png");
    let (w, h) = (1280u32, 1800u32);
    let t0 = std::time::Instant::now();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            &format!("--screenshot={}", png_path.display()),
            &format!("--window-size={w},{h}"),
        ])
        .arg(format!(
            "file://{}",
            tmp.path().join("report.html").display()
        ))
        .output()
        .expect("chromium on PATH");
    eprintln!("chromium took {:.2} s", t0.elapsed().as_secs_f64());
    assert!(
        png_path.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = std::io::BufReader::new(std::fs::File::open(&png_path).unwrap());
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (w, h));
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    let mut colours: Vec<&[u8]> = pixels.clone();
    colours.sort();
    colours.dedup();
    // Text is antialiased: a rendered page has hundreds of shades, a blank
    // or error page a handful.
    assert!(colours.len() > 100, "{} colours", colours.len());
    let background = pixels[0];
    let ink = pixels.iter().filter(|p| **p != background).count();
    assert!(
        ink * 20 > pixels.len(),
        "only {ink} of {} pixels differ from the background",
        pixels.len()
    );
}

/// A model with `x_test.csv` and `y_test.csv` beside it: `run` simulates
/// the test set after the random vectors and reports the accuracy of the
/// golden and float models on it. The model is exact (golden = float), and
/// the labels are the true classes except for every fourth sample, so the
/// accuracy is known from how the labels were made.
#[test]
fn run_reports_the_test_set_beside_the_model() {
    let tmp = tempfile::tempdir().unwrap();
    let model = json!({
        "format": "neurtl-model", "version": 1, "name": "cmp",
        "inputs": [{"name": "x", "shape": [2], "type": "fixed<6,3>"}],
        "layers": [{"name": "d", "op": "dense", "input": "x", "units": 2,
                    "weights": [[1.0, -1.0], [-1.0, 1.0]], "weight_type": "fixed<4,2>"},
                   {"name": "class", "op": "argmax", "input": "d"}],
        "outputs": ["class"],
    });
    let path = tmp.path().join("model.json");
    std::fs::write(&path, model.to_string()).unwrap();
    let (mut xs, mut ys, mut right) = (String::new(), String::new(), 0);
    for k in 0..60i32 {
        let a = ((k * 7) % 64 - 32) as f64 / 8.0;
        let b = ((k * 11 + 3) % 64 - 32) as f64 / 8.0;
        if a == b {
            continue;
        }
        let class = (b > a) as u8;
        let label = if k % 4 == 0 { 1 - class } else { class };
        right += (label == class) as usize;
        xs += &format!("{a},{b}\n");
        ys += &format!("{label}\n");
    }
    let n = xs.lines().count();
    std::fs::write(tmp.path().join("x_test.csv"), xs).unwrap();
    std::fs::write(tmp.path().join("y_test.csv"), ys).unwrap();
    let dir = tmp.path().join("build");
    let out = neurtl(&[
        "run",
        path.to_str().unwrap(),
        "-o",
        dir.to_str().unwrap(),
        "--vectors",
        "50",
    ]);
    common::assert_no_mismatches(&out, "test set run");
    let pct = 100.0 * right as f64 / n as f64;
    for needle in [
        format!("vectors      {} through", 50 + n),
        format!("golden model {pct:.2}% ({right}/{n}), float reference {pct:.2}% ({right}/{n})"),
        "predictions differ on 0 samples".to_string(),
        "the RTL ran these samples".to_string(),
        "result       PASSED".to_string(),
    ] {
        assert!(out.contains(&needle), "no `{needle}` in\n{out}");
    }
    // the random vectors' float error is a worst case: not printed unasked
    assert!(!out.contains("golden vs float"), "{out}");
    let text = visible_text(&std::fs::read_to_string(dir.join("report.html")).unwrap());
    assert!(text.contains(&format!("({right}/{n})")), "{text}");
}
