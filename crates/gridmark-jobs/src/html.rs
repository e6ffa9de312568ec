//! Self-contained HTML reports: inline SVG charts and tables, no scripts, no external assets,
//! so a report opens the same on a laptop with no network and can be mailed as one file.

use std::fmt::Write;

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A report page under construction.
pub struct Page {
    body: String,
    title: String,
}

impl Page {
    pub fn new(title: &str) -> Self {
        Page {
            body: String::new(),
            title: title.to_string(),
        }
    }

    pub fn h2(&mut self, text: &str) {
        let _ = write!(self.body, "<h2>{}</h2>", esc(text));
    }

    pub fn p(&mut self, text: &str) {
        let _ = write!(self.body, "<p>{}</p>", esc(text));
    }

    /// Headline figures as a row of tiles: (label, value).
    pub fn tiles(&mut self, tiles: &[(&str, String)]) {
        self.body.push_str("<div class=tiles>");
        for (label, value) in tiles {
            let _ = write!(
                self.body,
                "<div class=tile><div class=v>{}</div><div class=l>{}</div></div>",
                esc(value),
                esc(label)
            );
        }
        self.body.push_str("</div>");
    }

    pub fn table(&mut self, header: &[&str], rows: &[Vec<String>]) {
        self.body.push_str("<table><thead><tr>");
        for h in header {
            let _ = write!(self.body, "<th>{}</th>", esc(h));
        }
        self.body.push_str("</tr></thead><tbody>");
        for r in rows {
            self.body.push_str("<tr>");
            for c in r {
                let _ = write!(self.body, "<td>{}</td>", esc(c));
            }
            self.body.push_str("</tr>");
        }
        self.body.push_str("</tbody></table>");
    }

    /// A line chart of one or more series over shared x labels.
    pub fn line_chart(&mut self, title: &str, x: &[String], series: &[(&str, Vec<f64>)]) {
        self.body.push_str(&line_svg(title, x, series));
    }

    /// A horizontal bar chart of (label, value).
    pub fn bar_chart(&mut self, title: &str, bars: &[(String, f64)]) {
        self.body.push_str(&bar_svg(title, bars));
    }

    pub fn finish(self) -> String {
        format!(
            "<!doctype html><html><head><meta charset=utf-8><title>{t}</title><style>{CSS}</style></head><body><h1>{t}</h1>{}</body></html>\n",
            self.body,
            t = esc(&self.title)
        )
    }
}

const CSS: &str = "body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;margin:2em;color:#222;max-width:1100px}\
h2{margin-top:1.6em;border-bottom:1px solid #ddd}table{border-collapse:collapse;font-size:13px}\
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f4f4}\
td:first-child,th:first-child{text-align:left}.tiles{display:flex;gap:1em;flex-wrap:wrap}\
.tile{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:9em}.v{font-size:1.5em;font-weight:600}\
.l{color:#666;font-size:.85em}svg{display:block;margin:1em 0}";

const COLORS: [&str; 6] = [
    "#2f6db5", "#d9822b", "#3a9e5f", "#c23b3b", "#7d5ab5", "#888888",
];

fn line_svg(title: &str, x: &[String], series: &[(&str, Vec<f64>)]) -> String {
    let (w, h, left, bottom, top) = (960.0, 260.0, 60.0, 30.0, 28.0);
    let finite = series
        .iter()
        .flat_map(|s| s.1.iter())
        .filter(|v| v.is_finite());
    let (mut lo, mut hi) = finite.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    if lo > hi {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        hi = lo + 1.0;
    }
    let n = x.len().max(2);
    let px = |i: usize| left + (w - left - 10.0) * i as f64 / (n - 1) as f64;
    let py = |v: f64| top + (h - top - bottom) * (1.0 - (v - lo) / (hi - lo));
    let mut s = format!(
        "<svg viewBox='0 0 {w} {h}' width='{w}' height='{h}' role=img><title>{t}</title><text x='{left}' y='16' font-size='14' font-weight='600'>{t}</text>",
        t = esc(title)
    );
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f64 / 4.0;
        let y = py(v);
        let _ = write!(
            s,
            "<line x1='{left}' x2='{}' y1='{y:.1}' y2='{y:.1}' stroke='#eee'/><text x='{}' y='{:.1}' font-size='11' text-anchor='end'>{}</text>",
            w - 10.0,
            left - 4.0,
            y + 4.0,
            short(v)
        );
    }
    let ticks = 6.min(x.len());
    for k in 0..ticks {
        let i = if ticks > 1 {
            k * (x.len() - 1) / (ticks - 1)
        } else {
            0
        };
        let _ = write!(
            s,
            "<text x='{:.1}' y='{}' font-size='11' text-anchor='middle'>{}</text>",
            px(i),
            h - 10.0,
            esc(&x[i])
        );
    }
    let mut legend_x = left + 8.0 * title.chars().count() as f64 + 24.0;
    for (k, (name, ys)) in series.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let mut d = String::new();
        let mut pen_up = true;
        for (i, v) in ys.iter().enumerate() {
            if v.is_finite() {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1} ",
                    if pen_up { "M" } else { "L" },
                    px(i),
                    py(*v)
                );
                pen_up = false;
            } else {
                pen_up = true;
            }
        }
        let _ = write!(
            s,
            "<path d='{d}' fill='none' stroke='{color}' stroke-width='1.5'/>"
        );
        // The legend runs along the title line, right of the title, so it never covers the
        // latest values, which are what a reader looks at first.
        let _ = write!(
            s,
            "<text x='{legend_x:.0}' y='16' font-size='12' fill='{color}'>■ {}</text>",
            esc(name)
        );
        legend_x += 7.0 * (name.chars().count() as f64 + 3.0);
    }
    s.push_str("</svg>");
    s
}

fn bar_svg(title: &str, bars: &[(String, f64)]) -> String {
    let row = 20.0;
    let (w, left, top) = (960.0, 220.0, 28.0);
    let h = top + row * bars.len() as f64 + 10.0;
    let max = bars
        .iter()
        .map(|b| b.1)
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max)
        .max(1e-12);
    let mut s = format!(
        "<svg viewBox='0 0 {w} {h}' width='{w}' height='{h}' role=img><title>{t}</title><text x='0' y='16' font-size='14' font-weight='600'>{t}</text>",
        t = esc(title)
    );
    for (i, (label, v)) in bars.iter().enumerate() {
        let y = top + row * i as f64;
        let bw = if v.is_finite() {
            (w - left - 90.0) * v.max(0.0) / max
        } else {
            0.0
        };
        let _ = write!(
            s,
            "<text x='{}' y='{:.1}' font-size='12' text-anchor='end'>{}</text><rect x='{left}' y='{:.1}' width='{bw:.1}' height='{}' fill='{}'/><text x='{:.1}' y='{:.1}' font-size='12'>{}</text>",
            left - 6.0,
            y + 13.0,
            esc(label),
            y + 2.0,
            row - 5.0,
            COLORS[0],
            left + bw + 4.0,
            y + 13.0,
            short(*v)
        );
    }
    s.push_str("</svg>");
    s
}

/// A number in at most four significant digits, for axis labels.
pub fn short(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.2}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_everywhere() {
        let mut p = Page::new("<t>");
        p.table(&["a"], &[vec!["<script>".into()]]);
        p.bar_chart("b", &[("x&y".into(), 1.0)]);
        p.line_chart(
            "c",
            &["d'1".into(), "d2".into()],
            &[("s\"", vec![1.0, f64::NAN])],
        );
        let html = p.finish();
        assert!(!html.contains("<script>") && !html.contains("<t>"));
        assert!(html.contains("&lt;script&gt;") && html.contains("x&amp;y"));
        assert!(html.contains("d&#39;1") && html.contains("s&quot;"));
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short(1_234_567.0), "1.23M");
        assert_eq!(short(0.0123), "0.012");
        assert_eq!(short(f64::NAN), "–");
    }
}
