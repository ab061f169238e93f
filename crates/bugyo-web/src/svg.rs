//! Pictures drawn on the server as SVG, for what people would rather look
//! at than read: an incident's timeline of announced prefixes per observing
//! peer, the AS graph of its cause, and bar charts of report statistics.
//! Each picture carries a `<title>` and a text alternative, and every number
//! it shows is also in a table on the same page.

use crate::lang::Lang;
use maud::{html, Markup};

/// Colours of series, distinguishable in print and for most colour vision.
const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
];

/// One line of a timeline: a label and its points (Unix microseconds,
/// value), in time order.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// What the line is (a peer, or "all peers").
    pub label: String,
    /// (time, value) points.
    pub points: Vec<(i64, u64)>,
}

/// A step chart of `series` over time: each value holds until the next.
pub fn timeline(lang: Lang, title: &str, series: &[Series]) -> Markup {
    let (w, h, left, right, top, bottom) = (760.0, 300.0, 60.0, 200.0, 20.0, 40.0);
    let all = series.iter().flat_map(|s| s.points.iter());
    let t0 = all.clone().map(|p| p.0).min();
    let t1 = all.clone().map(|p| p.0).max();
    let vmax = all.map(|p| p.1).max().unwrap_or(0).max(1);
    let (Some(t0), Some(t1)) = (t0, t1) else {
        return html! { p { (lang.pick("時系列のデータはまだありません。", "No timeline data yet.")) } };
    };
    // A tenth more after the last change, so that a fall to zero shows.
    let t1 = t1 + ((t1 - t0) / 10).max(1_000_000);
    let span = (t1 - t0) as f64;
    let pw = w - left - right;
    let ph = h - top - bottom;
    let x = |t: i64| left + (t - t0) as f64 / span * pw;
    let y = |v: u64| top + ph - v as f64 / vmax as f64 * ph;
    let path = |s: &Series| {
        let mut d = String::new();
        let mut last: Option<u64> = None;
        for &(t, v) in &s.points {
            match last {
                // Each line starts from zero: the rise is part of the picture.
                None => d.push_str(&format!("M{:.1},{:.1} V{:.1}", x(t), y(0), y(v))),
                Some(_) => d.push_str(&format!(" H{:.1} V{:.1}", x(t), y(v))),
            }
            last = Some(v);
        }
        d.push_str(&format!(" H{:.1}", x(t1)));
        d
    };
    let alt = format!(
        "{}: {} {}, {} {}",
        title,
        series.len(),
        lang.pick("系列", "series"),
        lang.pick("最大", "peak"),
        vmax
    );
    html! {
        svg.timeline role="img" aria-label=(alt) viewBox={ "0 0 " (w) " " (h) } width=(w) height=(h)
            xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            rect x="0" y="0" width=(w) height=(h) fill="#ffffff" {}
            line x1=(left) y1=(top + ph) x2=(left + pw) y2=(top + ph) stroke="#333" {}
            line x1=(left) y1=(top) x2=(left) y2=(top + ph) stroke="#333" {}
            text x=(left - 6.0) y=(top + 4.0) text-anchor="end" font-size="12" { (vmax) }
            text x=(left - 6.0) y=(top + ph) text-anchor="end" font-size="12" { "0" }
            text x=(left) y=(h - 12.0) font-size="12" { (short_time(t0)) }
            text x=(left + pw) y=(h - 12.0) text-anchor="end" font-size="12" { (short_time(t1)) }
            @for (i, s) in series.iter().enumerate() {
                path d=(path(s)) fill="none" stroke=(COLOURS[i % COLOURS.len()]) stroke-width="2" {
                    title { (s.label) }
                }
                rect x=(left + pw + 12.0) y=(top + 18.0 * i as f64) width="12" height="12" fill=(COLOURS[i % COLOURS.len()]) {}
                text x=(left + pw + 30.0) y=(top + 10.0 + 18.0 * i as f64) font-size="12" { (s.label) }
            }
        }
    }
}

/// `HH:MM:SS JST` of a time.
fn short_time(micros: i64) -> String {
    let jst = bugyo_report::calendar::jst_rfc3339(bugyo_model::Timestamp::from_micros(
        micros - micros.rem_euclid(1_000_000),
    ));
    format!("{} {} JST", &jst[5..10], &jst[11..19])
}

/// An AS in the graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Its number.
    pub asn: u32,
    /// Its name, if known.
    pub name: Option<String>,
    /// A number to show under it (prefixes), if any.
    pub count: Option<u64>,
}

/// The cause of an incident as a graph: victim origins → culprit →
/// leaked-to → observers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CauseGraph {
    /// The origins whose prefixes were affected.
    pub victims: Vec<Node>,
    /// Victims not drawn (beyond the first few).
    pub more_victims: usize,
    /// The AS blamed.
    pub culprit: Option<Node>,
    /// Where a leak went.
    pub leaked_to: Option<Node>,
    /// The peers (ASes) that saw it.
    pub observers: Vec<Node>,
    /// Observers not drawn.
    pub more_observers: usize,
}

/// Draws a [`CauseGraph`] in columns, left to right.
pub fn cause_graph(lang: Lang, title: &str, g: &CauseGraph) -> Markup {
    let mut columns: Vec<(&str, Vec<&Node>, usize)> = vec![(
        lang.pick("被害オリジン", "Victim origins"),
        g.victims.iter().collect(),
        g.more_victims,
    )];
    if let Some(c) = &g.culprit {
        columns.push((lang.pick("原因 AS", "Culprit"), vec![c], 0));
    }
    if let Some(l) = &g.leaked_to {
        columns.push((lang.pick("漏えい先", "Leaked to"), vec![l], 0));
    }
    columns.push((
        lang.pick("観測ピア", "Observers"),
        g.observers.iter().collect(),
        g.more_observers,
    ));
    let rows = columns
        .iter()
        .map(|(_, n, more)| n.len() + usize::from(*more > 0))
        .max()
        .unwrap_or(1)
        .max(1);
    let (bw, bh, gap_x, gap_y, top) = (150.0, 40.0, 70.0, 14.0, 30.0);
    let w = columns.len() as f64 * (bw + gap_x) - gap_x + 20.0;
    let h = top + rows as f64 * (bh + gap_y) + 10.0;
    // Each column's boxes, centred vertically.
    let place = |col: usize, n: usize, i: usize| {
        let x = 10.0 + col as f64 * (bw + gap_x);
        let used = n as f64 * (bh + gap_y) - gap_y;
        let y0 = top + (h - top - 10.0 - used) / 2.0;
        (x, y0 + i as f64 * (bh + gap_y))
    };
    let counts: Vec<usize> = columns
        .iter()
        .map(|(_, n, more)| n.len() + usize::from(*more > 0))
        .collect();
    let mut edges = Vec::new();
    for c in 1..columns.len() {
        for i in 0..counts[c - 1] {
            for j in 0..counts[c] {
                let (x1, y1) = place(c - 1, counts[c - 1], i);
                let (x2, y2) = place(c, counts[c], j);
                edges.push((x1 + bw, y1 + bh / 2.0, x2, y2 + bh / 2.0));
            }
        }
    }
    let alt = format!(
        "{title}: {}",
        columns
            .iter()
            .map(|(name, nodes, more)| {
                let list: Vec<String> = nodes.iter().map(|n| format!("AS{}", n.asn)).collect();
                let more = if *more > 0 {
                    format!(" +{more}")
                } else {
                    String::new()
                };
                format!("{name} {}{more}", list.join(" "))
            })
            .collect::<Vec<_>>()
            .join(" → ")
    );
    html! {
        svg.cause-graph role="img" aria-label=(alt) viewBox={ "0 0 " (w) " " (h) } width=(w) height=(h)
            xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            defs { marker #arrow viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto" {
                path d="M0,0 L10,5 L0,10 z" fill="#555" {}
            } }
            rect x="0" y="0" width=(w) height=(h) fill="#ffffff" {}
            @for (x1, y1, x2, y2) in &edges {
                line x1=(x1) y1=(y1) x2=(x2) y2=(y2) stroke="#888" stroke-width="1.2" marker-end="url(#arrow)" {}
            }
            @for (c, (name, nodes, more)) in columns.iter().enumerate() {
                text x=(10.0 + c as f64 * (bw + gap_x) + bw / 2.0) y="18" text-anchor="middle" font-size="13" font-weight="bold" { (name) }
                @for (i, n) in nodes.iter().enumerate() {
                    @let (x, y) = place(c, counts[c], i);
                    @let fill = if c == 0 { "#e8f1fb" } else if n.asn == g.culprit.as_ref().map_or(0, |c| c.asn) { "#fde2e2" } else { "#f3f3f3" };
                    rect x=(x) y=(y) width=(bw) height=(bh) rx="6" fill=(fill) stroke="#555" {}
                    text x=(x + bw / 2.0) y=(y + 17.0) text-anchor="middle" font-size="13" { "AS" (n.asn) }
                    text x=(x + bw / 2.0) y=(y + 32.0) text-anchor="middle" font-size="11" fill="#333" {
                        (label(n))
                    }
                }
                @if *more > 0 {
                    @let (x, y) = place(c, counts[c], nodes.len());
                    text x=(x + bw / 2.0) y=(y + bh / 2.0) text-anchor="middle" font-size="12" {
                        "+" (more) " " (lang.pick("件", "more"))
                    }
                }
            }
        }
    }
}

fn label(n: &Node) -> String {
    let mut s = n.name.clone().unwrap_or_default();
    if s.chars().count() > 18 {
        s = s.chars().take(17).collect::<String>() + "…";
    }
    match n.count {
        Some(c) if s.is_empty() => format!("{c} pfx"),
        Some(c) => format!("{s} · {c}"),
        None => s,
    }
}

/// A horizontal bar chart of `(label, count)`.
pub fn bars(title: &str, rows: &[(String, u64)]) -> Markup {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    // Wide enough for the longest label (CJK characters are about twice
    // as wide as Latin ones at 12px).
    let widest = rows
        .iter()
        .map(|(name, _)| {
            name.chars()
                .map(|c| if c.is_ascii() { 7.0 } else { 12.5 })
                .sum::<f64>()
        })
        .fold(60.0_f64, f64::max);
    let (lw, bw, rh) = (widest.min(460.0) + 12.0, 380.0, 22.0);
    let h = rows.len().max(1) as f64 * rh + 10.0;
    let w = lw + bw + 60.0;
    html! {
        svg.bars role="img" aria-label=(title) viewBox={ "0 0 " (w) " " (h) } width=(w) height=(h)
            xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            rect x="0" y="0" width=(w) height=(h) fill="#ffffff" {}
            @for (i, (name, n)) in rows.iter().enumerate() {
                @let y = 5.0 + i as f64 * rh;
                text x=(lw - 6.0) y=(y + 15.0) text-anchor="end" font-size="12" { (name) }
                rect x=(lw) y=(y + 3.0) width=(bw * *n as f64 / max as f64) height=(rh - 6.0) fill="#457b9d" {}
                text x=(lw + bw * *n as f64 / max as f64 + 6.0) y=(y + 15.0) font-size="12" { (n) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeline_draws_one_line_per_peer_and_scales_to_the_peak() {
        let s = vec![
            Series {
                label: "AS1@10.0.0.1".into(),
                points: vec![(0, 0), (1_000_000, 100), (5_000_000, 0)],
            },
            Series {
                label: "AS2@10.0.0.2".into(),
                points: vec![(2_000_000, 40)],
            },
        ];
        let m = timeline(Lang::En, "t", &s).into_string();
        assert_eq!(m.matches("<path").count(), 2, "{m}");
        assert!(m.contains(">100<"), "the peak labels the axis: {m}");
        assert!(m.contains("AS2@10.0.0.2"));
        let empty = timeline(Lang::En, "t", &[]).into_string();
        assert!(!empty.contains("<svg"));
    }

    #[test]
    fn the_cause_graph_has_every_column_and_the_rest_counted() {
        let n = |asn| Node {
            asn,
            name: None,
            count: Some(3),
        };
        let g = CauseGraph {
            victims: vec![n(4713), n(2914)],
            more_victims: 7,
            culprit: Some(n(15169)),
            leaked_to: Some(n(701)),
            observers: vec![n(64500)],
            more_observers: 0,
        };
        let m = cause_graph(Lang::En, "g", &g).into_string();
        for s in [
            "AS4713",
            "AS15169",
            "AS701",
            "AS64500",
            "+7 more",
            "Leaked to",
        ] {
            assert!(m.contains(s), "{s} missing: {m}");
        }
        // 3 boxes (2 victims + "more") → culprit → leaked-to → 1 observer.
        assert_eq!(m.matches("<line").count(), 3 + 1 + 1, "{m}");
    }
}
