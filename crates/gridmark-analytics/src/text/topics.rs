//! What a stream of short texts is about: the language of each text, the candidate terms it
//! holds (words without stop words; for Chinese text the segmenter could not split, character
//! bigrams), keywords by TF-IDF, and per period the hot terms (most documents) and the
//! emerging ones (documents far above the term's own recent history).
//!
//! Emerging terms: for term t in week w with `c` documents out of `n`, the expected count is
//! `n × (h_t + 0.5) / (H + 1)` where `h_t` of `H` documents held t in the previous
//! `history_weeks` weeks. The one-sided Poisson p-value `P(X ≥ c)` is compared with
//! `alpha / m` (Bonferroni over the `m` terms tested that week), and the count must also be
//! at least `min_docs` and `min_ratio` times the expectation, so that a term going from 1 to 3
//! mentions does not count however small its p-value.

use super::FastMap;
use super::lexicon::dense_script as is_dense_script;

/// The language of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Chinese,
    English,
    /// Both scripts in substantial amounts.
    Mixed,
    /// No letters at all (numbers, punctuation, empty).
    Unknown,
}

impl Language {
    /// Short code: zh, en, mixed, unknown.
    pub fn code(self) -> &'static str {
        match self {
            Language::Chinese => "zh",
            Language::English => "en",
            Language::Mixed => "mixed",
            Language::Unknown => "unknown",
        }
    }
}

/// The language by script: a Chinese character counts as much as three Latin letters (about
/// one English word's worth of meaning for either), so "APP缴费失败" is Chinese and an English
/// sentence with one Chinese place name stays English.
pub fn detect_language(text: &str) -> Language {
    let (mut han, mut latin) = (0usize, 0usize);
    for c in text.chars() {
        if is_dense_script(c) {
            han += 1;
        } else if c.is_alphabetic() {
            latin += 1;
        }
    }
    if han + latin == 0 {
        return Language::Unknown;
    }
    let share = han as f64 / (han as f64 + latin as f64 / 3.0);
    if share >= 0.6 {
        Language::Chinese
    } else if share <= 0.25 {
        Language::English
    } else {
        Language::Mixed
    }
}

const STOP_ZH: &[&str] = &[
    "我们",
    "你们",
    "他们",
    "我家",
    "这个",
    "那个",
    "什么",
    "怎么",
    "为什么",
    "已经",
    "一直",
    "还是",
    "但是",
    "可是",
    "因为",
    "所以",
    "可以",
    "能不能",
    "是不是",
    "一下",
    "一个",
    "没有",
    "不是",
    "就是",
    "还有",
    "如果",
    "现在",
    "时候",
    "这么",
    "那么",
    "然后",
    "而且",
    "请问",
    "麻烦",
    "希望",
    "需要",
    "知道",
    "觉得",
    "好像",
    "以后",
    "之后",
    "最近",
    "今天",
    "昨天",
    "这样",
    "那样",
    "自己",
    "大家",
    "非常",
    "比较",
    "有点",
    "特别",
    "十分",
    "实在",
    "稍微",
    "略微",
    "有些",
    "不要",
    "不会",
    "不太",
    "不够",
    "并非",
    "从未",
    "毫无",
    "难以",
    "一点",
];

/// Function characters: a bigram holding one is almost never a term (的, 了, 们, 个…).
const STOP_CHARS: &str =
    "的了又是在我你他她它们个也就都请吗吧呢啊把被让给和与及等这那有着过很太还么想比要会能对说";

const STOP_EN: &[&str] = &[
    "the",
    "and",
    "for",
    "are",
    "but",
    "not",
    "you",
    "all",
    "any",
    "can",
    "had",
    "her",
    "was",
    "one",
    "our",
    "out",
    "has",
    "him",
    "his",
    "how",
    "its",
    "may",
    "new",
    "now",
    "old",
    "see",
    "two",
    "way",
    "who",
    "did",
    "get",
    "got",
    "let",
    "say",
    "she",
    "too",
    "use",
    "yes",
    "this",
    "that",
    "with",
    "have",
    "from",
    "they",
    "will",
    "would",
    "there",
    "their",
    "what",
    "about",
    "which",
    "when",
    "were",
    "been",
    "than",
    "then",
    "them",
    "these",
    "some",
    "could",
    "into",
    "only",
    "other",
    "also",
    "just",
    "your",
    "more",
    "very",
    "after",
    "before",
    "because",
    "still",
    "does",
    "doesn't",
    "don't",
    "didn't",
    "isn't",
    "wasn't",
    "can't",
    "cannot",
    "won't",
    "please",
    "someone",
    "nobody",
    "nothing",
    "every",
    "time",
    "much",
    "many",
    "why",
    "where",
    "here",
    "over",
    "again",
    "really",
    "quite",
    "pretty",
    "somewhat",
    "slightly",
    "extremely",
    "totally",
    "absolutely",
    "should",
    "being",
    "while",
    "each",
    "same",
    "such",
    "even",
    "ever",
    "never",
    "without",
    "i'm",
    "it's",
    "we're",
    "they're",
    "i've",
];

/// Candidate terms of a text's words (lowercased, from a segmenter): stop words, numbers and
/// English words under three letters are dropped; runs of single Chinese characters (what
/// the segmenter did not know) become overlapping character bigrams, marked `true`, except
/// bigrams holding a function character such as 的 or 们.
pub fn candidate_terms(words: &[&str], out: &mut Vec<(String, bool)>) {
    out.clear();
    let mut run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, out: &mut Vec<(String, bool)>| {
        for pair in run.windows(2) {
            if !pair.iter().any(|c| STOP_CHARS.contains(*c)) {
                out.push((pair.iter().collect(), true));
            }
        }
        run.clear();
    };
    for w in words {
        let mut chars = w.chars();
        let first = chars.next();
        let single = first.is_some() && chars.next().is_none();
        match first {
            Some(c) if single && is_dense_script(c) => {
                run.push(c);
                continue;
            }
            _ => flush(&mut run, out),
        }
        let Some(c) = first else { continue };
        if is_dense_script(c) {
            if !STOP_ZH.contains(w) && !w.chars().all(|c| c.is_numeric()) {
                out.push(((*w).to_owned(), false));
            }
        } else if w.chars().count() >= 3
            && !w.chars().all(|c| c.is_ascii_digit() || c == '.')
            && !STOP_EN.contains(w)
        {
            out.push(((*w).to_owned(), false));
        }
    }
    flush(&mut run, out);
}

/// Groups terms that stand for one topic because they occur in the same documents, as the
/// character bigrams of one unknown phrase do, or the place names of one outage: the overlap
/// coefficient |A ∩ B| / min(|A|, |B|) of their sorted document lists is at least
/// `min_overlap`. Terms are taken in the given order (best first); each joins the first
/// earlier group whose head it overlaps, else heads a new one. Returns, for every term, the
/// index of its group's head.
pub fn group_by_documents(docs: &[Vec<u32>], min_overlap: f64) -> Vec<usize> {
    let mut heads: Vec<usize> = Vec::new();
    let mut out = Vec::with_capacity(docs.len());
    for (i, d) in docs.iter().enumerate() {
        match heads.iter().find(|&&h| overlap(&docs[h], d) >= min_overlap) {
            Some(&h) => out.push(h),
            None => {
                heads.push(i);
                out.push(i);
            }
        }
    }
    out
}

fn overlap(a: &[u32], b: &[u32]) -> f64 {
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let smaller = a.len().min(b.len());
    if smaller == 0 {
        0.0
    } else {
        both as f64 / smaller as f64
    }
}

/// The `k` terms of `terms` with the highest tf × idf, where idf = ln((1 + n) / (1 + df)) + 1
/// from `df(term)` documents of `n`; ties go to the earlier term. Terms (words or their ids)
/// repeat in the input as often as they occur.
pub fn keywords<T: Copy + PartialEq>(
    terms: &[T],
    df: impl Fn(T) -> u32,
    n_docs: u32,
    k: usize,
) -> Vec<T> {
    let mut scored: Vec<(T, f64, usize)> = Vec::new();
    for (i, &t) in terms.iter().enumerate() {
        if let Some(e) = scored.iter_mut().find(|e| e.0 == t) {
            e.1 += 1.0;
        } else {
            scored.push((t, 1.0, i));
        }
    }
    for e in &mut scored {
        let idf = ((1.0 + n_docs as f64) / (1.0 + df(e.0) as f64)).ln() + 1.0;
        e.1 *= idf;
    }
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    scored.into_iter().take(k).map(|e| e.0).collect()
}

/// Limits of hot and emerging term detection.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicParams {
    /// Hot terms kept per week; default 10.
    pub hot_per_week: usize,
    /// Weeks of history an emerging term is compared with; default 8.
    pub history_weeks: usize,
    /// Weeks of history needed before a term can be called emerging; default 3.
    pub min_history_weeks: usize,
    /// Documents a term needs in the week; default 5.
    pub min_docs: u32,
    /// Documents over expectation; default 3.
    pub min_ratio: f64,
    /// Family-wise significance per week (Bonferroni); default 0.01.
    pub alpha: f64,
}

impl Default for TopicParams {
    fn default() -> Self {
        Self {
            hot_per_week: 10,
            history_weeks: 8,
            min_history_weeks: 3,
            min_docs: 5,
            min_ratio: 3.0,
            alpha: 0.01,
        }
    }
}

/// A term singled out in one week.
#[derive(Debug, Clone, PartialEq)]
pub struct WeekTerm {
    /// Index of the week (into the totals given).
    pub week: usize,
    /// Index of the term (into the counts given).
    pub term: usize,
    /// Documents holding the term that week.
    pub docs: u32,
    /// Share of the week's documents.
    pub share: f64,
    /// Rank among the week's terms by documents (1 = most), when among the hot ones.
    pub hot_rank: Option<usize>,
    /// Documents expected from the term's history (None without enough history).
    pub expected: Option<f64>,
    /// One-sided Poisson p-value of at least `docs` given `expected`.
    pub p_value: Option<f64>,
    /// Significant after Bonferroni and above `min_docs` and `min_ratio`.
    pub emerging: bool,
}

/// Hot and emerging terms of every week. `counts[t][w]` is the number of documents of week `w`
/// holding term `t`; `totals[w]` the week's documents.
pub fn weekly_terms(counts: &[Vec<u32>], totals: &[u32], params: &TopicParams) -> Vec<WeekTerm> {
    let weeks = totals.len();
    let mut out = Vec::new();
    for w in 0..weeks {
        if totals[w] == 0 {
            continue;
        }
        let h0 = w.saturating_sub(params.history_weeks);
        let history_docs: u64 = totals[h0..w].iter().map(|&n| n as u64).sum();
        let with_history = (h0..w).filter(|&h| totals[h] > 0).count() >= params.min_history_weeks;
        let mut present: Vec<(usize, u32)> = counts
            .iter()
            .enumerate()
            .filter(|(_, c)| c[w] > 0)
            .map(|(t, c)| (t, c[w]))
            .collect();
        present.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let tested = present.len().max(1) as f64;
        let mut found: FastMap<usize, WeekTerm> = FastMap::default();
        for (rank, &(t, c)) in present.iter().enumerate() {
            let hot_rank = (rank < params.hot_per_week).then_some(rank + 1);
            let (expected, p_value, emerging) = if with_history {
                let h: u64 = counts[t][h0..w].iter().map(|&x| x as u64).sum();
                let rate = (h as f64 + 0.5) / (history_docs as f64 + 1.0);
                let expected = rate * totals[w] as f64;
                let p = poisson_upper_tail(c, expected);
                let emerging = c >= params.min_docs
                    && c as f64 >= params.min_ratio * expected
                    && p < params.alpha / tested;
                (Some(expected), Some(p), emerging)
            } else {
                (None, None, false)
            };
            if hot_rank.is_some() || emerging {
                found.insert(
                    t,
                    WeekTerm {
                        week: w,
                        term: t,
                        docs: c,
                        share: c as f64 / totals[w] as f64,
                        hot_rank,
                        expected,
                        p_value,
                        emerging,
                    },
                );
            }
        }
        let mut week: Vec<WeekTerm> = found.into_values().collect();
        week.sort_by(|a, b| b.docs.cmp(&a.docs).then(a.term.cmp(&b.term)));
        out.extend(week);
    }
    out
}

/// P(X ≥ k) for X ~ Poisson(λ).
pub fn poisson_upper_tail(k: u32, lambda: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if lambda.is_nan() || lambda <= 0.0 {
        return 0.0;
    }
    let kf = k as f64;
    if kf <= lambda {
        // The tail is large: one minus the (short) lower sum is accurate enough.
        let mut term = (-lambda).exp();
        let mut lower = term;
        for i in 1..k {
            term *= lambda / i as f64;
            lower += term;
        }
        return (1.0 - lower).clamp(0.0, 1.0);
    }
    // Sum upward from k; the terms fall at least geometrically once i > λ.
    let mut term = (kf * lambda.ln() - lambda - ln_factorial(k)).exp();
    let mut sum = 0.0;
    let mut i = kf;
    while term > sum * 1e-16 && term > 0.0 {
        sum += term;
        i += 1.0;
        term *= lambda / i;
    }
    sum.min(1.0)
}

/// ln(k!) by summation for small k and Stirling's series beyond.
fn ln_factorial(k: u32) -> f64 {
    if k < 32 {
        return (2..=k).map(|i| (i as f64).ln()).sum();
    }
    let n = k as f64;
    n * n.ln() - n + 0.5 * (2.0 * std::f64::consts::PI * n).ln() + 1.0 / (12.0 * n)
        - 1.0 / (360.0 * n * n * n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_by_script() {
        assert_eq!(detect_language("电费太高了"), Language::Chinese);
        assert_eq!(detect_language("APP缴费失败"), Language::Chinese);
        assert_eq!(detect_language("The bill is too high"), Language::English);
        assert_eq!(
            detect_language("The outage at 城东 lasted all night long"),
            Language::English
        );
        assert_eq!(detect_language("bill 电费 meter 电表"), Language::Mixed);
        assert_eq!(detect_language("123 !!"), Language::Unknown);
    }

    #[test]
    fn terms_drop_stop_words_and_pair_unknown_characters() {
        let mut out = Vec::new();
        candidate_terms(
            &[
                "我们", "电费", "抄", "表", "有", "误", "the", "meter", "is", "42",
            ],
            &mut out,
        );
        let terms: Vec<(&str, bool)> = out.iter().map(|(t, b)| (t.as_str(), *b)).collect();
        assert_eq!(
            terms,
            vec![("电费", false), ("抄表", true), ("meter", false)]
        );
    }

    #[test]
    fn terms_of_one_phrase_group_together() {
        let docs = vec![
            vec![1, 2, 3, 4, 5],    // 充电桩
            vec![1, 2, 3, 4, 5, 9], // 无法: same documents and one more
            vec![7, 8, 9],          // 电费: elsewhere
            vec![1, 2, 3, 4],       // 故障
        ];
        assert_eq!(group_by_documents(&docs, 0.7), vec![0, 0, 2, 0]);
    }

    #[test]
    fn keywords_prefer_rare_repeated_terms() {
        let terms = ["电费", "跳闸", "跳闸", "电费"];
        let df = |t: &str| if t == "电费" { 900 } else { 3 };
        assert_eq!(keywords(&terms, df, 1000, 1), vec!["跳闸"]);
    }

    #[test]
    fn poisson_tail_matches_known_values() {
        // P(X ≥ 5 | λ = 1) = 1 − e^−1 (1 + 1 + 1/2 + 1/6 + 1/24) = 0.0036598
        assert!((poisson_upper_tail(5, 1.0) - 0.003_659_846_827_343_7).abs() < 1e-12);
        // P(X ≥ 2 | λ = 3) = 1 − 4e^−3 = 0.8008517
        assert!((poisson_upper_tail(2, 3.0) - 0.800_851_726_528_544).abs() < 1e-12);
        assert!((poisson_upper_tail(100, 50.0) / 3.200_065_324_585e-10 - 1.0).abs() < 1e-9);
        assert_eq!(poisson_upper_tail(0, 2.0), 1.0);
    }

    #[test]
    fn a_burst_is_emerging_and_a_steady_term_is_not() {
        // 12 weeks of 200 documents; term 0 is steady at ~20, term 1 at ~2 until week 9's 25.
        let totals = vec![200u32; 12];
        let steady: Vec<u32> = (0..12).map(|w| 18 + (w % 5) as u32).collect();
        let mut burst: Vec<u32> = (0..12).map(|w| (w % 3) as u32).collect();
        burst[9] = 25;
        let found = weekly_terms(&[steady, burst], &totals, &TopicParams::default());
        let emerging: Vec<(usize, usize)> = found
            .iter()
            .filter(|t| t.emerging)
            .map(|t| (t.week, t.term))
            .collect();
        assert_eq!(emerging, vec![(9, 1)]);
        let w9 = found.iter().find(|t| t.week == 9 && t.term == 1).unwrap();
        assert!(w9.p_value.unwrap() < 1e-10, "{w9:?}");
        // the steady term is hot every week, including the first ones without history
        assert_eq!(found.iter().filter(|t| t.term == 0).count(), 12);
        assert!(
            found
                .iter()
                .filter(|t| t.week < 3)
                .all(|t| t.expected.is_none())
        );
    }
}
