//! Training-free sentiment from a word-score lexicon, with negation and degree words.
//!
//! Text is lowercased and cut into tokens. Runs of Han characters (and kana) have no spaces, so
//! they are segmented by forward maximum matching: at each position the longest lexicon word
//! (at most [`LexiconParams::max_word_chars`] characters) is taken, else one character. Words of
//! the user dictionary (e.g. power-industry terms such as 阶梯电价) are found first, leftmost
//! and longest, and never cut, even where a lexicon word would overlap them. Runs of other
//! letters and digits (with apostrophes inside, so "don't" stays whole) are one word each, as
//! in any language written with spaces. Punctuation ends a clause; spaces only separate words.
//!
//! The score is the sum over sentiment words of `score × degree × negation_factorⁿ`, where the
//! degree (product of the degree words' weights) and the `n` negation words are those seen
//! since the previous sentiment word, in the same clause, at most
//! [`LexiconParams::window`] other words before it. A word that is a negation or degree word
//! acts as one even when the sentiment lexicon also scores it (BosonNLP scores 很, 太 and
//! "not", for example).
//!
//! The parsers read the lexicon files of the usual Chinese setup: BosonNLP's
//! `BosonNLP_sentiment_score.txt` (`word score` lines), HowNet's `degreeDict.utf8.txt` (six
//! levels of degree words under numbered headings) and a negation list (one word a line).

use super::{FastMap, FastSet, TextError};

/// Multipliers of the six levels of HowNet's degree-word list, in its order: 极其|extreme,
/// 很|very, 较|more, 稍|-ish, 欠|insufficiently, 超|over. The values are the usual choice of
/// BosonNLP/HowNet sentiment tutorials: above 1 strengthens, below 1 weakens.
pub const HOWNET_DEGREE_LEVELS: [f64; 6] = [2.0, 1.75, 1.5, 0.75, 0.5, 1.5];

/// Reads `word score` lines (BosonNLP's format): the score is the last whitespace-separated
/// field, the word everything before it (so a phrase may contain spaces). Blank lines and a
/// leading byte-order mark are skipped. Entries keep the file's order.
///
/// # Errors
/// [`TextError::Lexicon`] naming the first line without a word and a finite score.
pub fn parse_word_scores(text: &str) -> Result<Vec<(String, f64)>, TextError> {
    let mut out = Vec::new();
    for (n, line) in lines(text) {
        let Some((word, score)) = split_last_field(line) else {
            return Err(bad_line(n, line, "expected `word score`"));
        };
        match score.parse::<f64>() {
            Ok(s) if s.is_finite() => out.push((word.to_owned(), s)),
            _ => return Err(bad_line(n, line, "the score is not a finite number")),
        }
    }
    Ok(out)
}

/// Reads one word per line (a negation list, a user dictionary); blank lines and a leading
/// byte-order mark are skipped, surrounding whitespace trimmed.
pub fn parse_word_list(text: &str) -> Vec<String> {
    lines(text).map(|(_, l)| l.to_owned()).collect()
}

/// Reads degree words with their multipliers, in either of two formats:
///
/// * HowNet's `degreeDict.utf8.txt`: numbered headings such as `1. “极其|extreme / 最|most”<TAB>69`
///   open level 1 to 6 (weighted by [`HOWNET_DEGREE_LEVELS`]), each followed by one word a
///   line; lines before the first heading (the title) are ignored, and so are discontinuous
///   patterns such as `越 ... 越`, which a word lookup cannot match.
/// * otherwise `word weight` lines, like [`parse_word_scores`].
///
/// # Errors
/// [`TextError::Lexicon`] naming a heading with an unknown level or a malformed `word weight`
/// line.
pub fn parse_degree_words(text: &str) -> Result<Vec<(String, f64)>, TextError> {
    if !lines(text).any(|(_, l)| heading_level(l).is_some()) {
        return parse_word_scores(text);
    }
    let mut out = Vec::new();
    let mut weight = None;
    for (n, line) in lines(text) {
        if let Some(level) = heading_level(line) {
            let w = level
                .checked_sub(1)
                .and_then(|i| HOWNET_DEGREE_LEVELS.get(i))
                .ok_or_else(|| bad_line(n, line, "degree level must be 1 to 6"))?;
            weight = Some(*w);
        } else if let Some(w) = weight
            && !line.contains(char::is_whitespace)
        {
            out.push((line.to_owned(), w));
        }
    }
    Ok(out)
}

/// `N.` at the start of a line followed by a space: a HowNet level heading.
fn heading_level(line: &str) -> Option<usize> {
    let digits = line.find(|c: char| !c.is_ascii_digit())?;
    let rest = &line[digits..];
    if digits == 0 || !rest.starts_with(". ") {
        return None;
    }
    line[..digits].parse().ok()
}

/// Non-blank trimmed lines with their 1-based numbers, without a leading byte-order mark.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
}

fn split_last_field(line: &str) -> Option<(&str, &str)> {
    let at = line.rfind(char::is_whitespace)?;
    let word = line[..at].trim_end();
    let last = line[at..].trim_start();
    (!word.is_empty()).then_some((word, last))
}

fn bad_line(line: usize, text: &str, reason: &'static str) -> TextError {
    TextError::Lexicon {
        line,
        text: text.to_owned(),
        reason,
    }
}

/// Sentiment, degree and negation words, keyed in lowercase.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    sentiment: FastMap<String, f64>,
    degree: FastMap<String, f64>,
    negation: FastSet<String>,
}

impl Lexicon {
    /// A lexicon from word scores, degree multipliers and negation words (e.g. from the
    /// parsers above). Words are lowercased; when two entries meet, the later one wins.
    pub fn new(
        sentiment: impl IntoIterator<Item = (String, f64)>,
        degree: impl IntoIterator<Item = (String, f64)>,
        negation: impl IntoIterator<Item = String>,
    ) -> Self {
        let mut lexicon = Self::default();
        for (w, s) in sentiment {
            lexicon.insert_sentiment(&w, s);
        }
        for (w, d) in degree {
            lexicon.insert_degree(&w, d);
        }
        for w in negation {
            lexicon.insert_negation(&w);
        }
        lexicon
    }

    /// Adds or replaces a sentiment word (domain terms such as 停电 can be scored this way).
    pub fn insert_sentiment(&mut self, word: &str, score: f64) {
        if !word.is_empty() && score.is_finite() {
            self.sentiment.insert(word.to_lowercase(), score);
        }
    }

    /// Adds or replaces a degree word and its multiplier.
    pub fn insert_degree(&mut self, word: &str, weight: f64) {
        if !word.is_empty() && weight.is_finite() {
            self.degree.insert(word.to_lowercase(), weight);
        }
    }

    /// Adds a negation word.
    pub fn insert_negation(&mut self, word: &str) {
        if !word.is_empty() {
            self.negation.insert(word.to_lowercase());
        }
    }

    /// Score of a sentiment word (lowercase), if listed.
    pub fn sentiment(&self, word: &str) -> Option<f64> {
        self.sentiment.get(word).copied()
    }

    fn role(&self, word: &str) -> Role {
        if self.negation.contains(word) {
            Role::Negation
        } else if let Some(&d) = self.degree.get(word) {
            Role::Degree(d)
        } else if let Some(&s) = self.sentiment.get(word) {
            Role::Sentiment(s)
        } else {
            Role::Other
        }
    }
}

enum Role {
    Negation,
    Degree(f64),
    Sentiment(f64),
    Other,
}

/// How modifiers combine and where the labels split.
#[derive(Debug, Clone, PartialEq)]
pub struct LexiconParams {
    /// Longest lexicon word tried in maximum matching, in characters (≥ 1); default 8.
    pub max_word_chars: usize,
    /// Most other words between a modifier and its sentiment word; default 3.
    pub window: usize,
    /// Factor per negation word: −1 flips (default), e.g. −0.5 flips and damps.
    pub negation_factor: f64,
    /// Scores within `±neutral_band` are [`Sentiment::Neutral`] (≥ 0); default 0.
    pub neutral_band: f64,
}

impl Default for LexiconParams {
    fn default() -> Self {
        Self {
            max_word_chars: 8,
            window: 3,
            negation_factor: -1.0,
            neutral_band: 0.0,
        }
    }
}

/// The sentiment label of a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sentiment {
    /// Above the neutral band.
    Positive,
    /// Inside the neutral band (or no sentiment word).
    Neutral,
    /// Below the neutral band.
    Negative,
}

/// The sentiment of one text.
#[derive(Debug, Clone, PartialEq)]
pub struct LexiconScore {
    /// Sum of the modified scores of the sentiment words.
    pub score: f64,
    /// Label of `score`.
    pub label: Sentiment,
    /// Number of sentiment words found.
    pub matched: usize,
}

/// A lexicon sentiment scorer with its segmentation dictionaries.
#[derive(Debug, Clone)]
pub struct LexiconScorer {
    lexicon: Lexicon,
    params: LexiconParams,
    /// Longest lexicon word (in characters, capped) starting with each character.
    longest_from: FastMap<char, usize>,
    user: FastSet<String>,
    longest_user_from: FastMap<char, usize>,
}

/// A token as a byte range of the lowercased text, or a clause break.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    Word(usize, usize),
    Break,
}

impl LexiconScorer {
    /// A scorer over `lexicon` whose segmentation keeps every word of `user_words` whole.
    ///
    /// # Errors
    /// [`TextError::InvalidParams`] for `max_word_chars` 0, a non-finite negation factor or a
    /// negative or non-finite neutral band.
    pub fn new(
        lexicon: Lexicon,
        user_words: &[&str],
        params: LexiconParams,
    ) -> Result<Self, TextError> {
        if params.max_word_chars == 0 {
            return Err(TextError::InvalidParams("max_word_chars must be ≥ 1"));
        }
        if !params.negation_factor.is_finite() {
            return Err(TextError::InvalidParams("negation_factor must be finite"));
        }
        if !(params.neutral_band.is_finite() && params.neutral_band >= 0.0) {
            return Err(TextError::InvalidParams(
                "neutral_band must be finite and ≥ 0",
            ));
        }
        let mut longest_from = FastMap::default();
        let words = lexicon
            .sentiment
            .keys()
            .chain(lexicon.degree.keys())
            .chain(lexicon.negation.iter());
        for w in words {
            note_length(&mut longest_from, w, params.max_word_chars);
        }
        let user: FastSet<String> = user_words
            .iter()
            .map(|w| w.trim().to_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        let mut longest_user_from = FastMap::default();
        for w in &user {
            note_length(&mut longest_user_from, w, usize::MAX);
        }
        Ok(Self {
            lexicon,
            params,
            longest_from,
            user,
            longest_user_from,
        })
    }

    /// The words of `text` (lowercased), in order, without punctuation.
    pub fn segment(&self, text: &str) -> Vec<String> {
        let lower = text.to_lowercase();
        self.tokens(&lower)
            .into_iter()
            .filter_map(|t| match t {
                Token::Word(a, b) => Some(lower[a..b].to_owned()),
                Token::Break => None,
            })
            .collect()
    }

    /// The sentiment of `text`.
    pub fn score(&self, text: &str) -> LexiconScore {
        let lower = text.to_lowercase();
        self.score_tokens(&lower, &self.tokens(&lower))
    }

    /// The sentiment of `text` and its words (as [`Self::segment`] gives them), from one pass
    /// of segmentation.
    pub fn analyze(&self, text: &str) -> (LexiconScore, Vec<String>) {
        let lower = text.to_lowercase();
        let tokens = self.tokens(&lower);
        let words = tokens
            .iter()
            .filter_map(|t| match *t {
                Token::Word(a, b) => Some(lower[a..b].to_owned()),
                Token::Break => None,
            })
            .collect();
        (self.score_tokens(&lower, &tokens), words)
    }

    fn score_tokens(&self, lower: &str, tokens: &[Token]) -> LexiconScore {
        let mut total = 0.0;
        let mut matched = 0;
        // Modifiers waiting for their sentiment word.
        let mut negations = 0i32;
        let mut degree = 1.0;
        let mut gap = 0;
        let mut pending = false;
        for &token in tokens {
            let Token::Word(a, b) = token else {
                (negations, degree, pending) = (0, 1.0, false);
                continue;
            };
            match self.lexicon.role(&lower[a..b]) {
                Role::Negation => {
                    negations += 1;
                    (gap, pending) = (0, true);
                }
                Role::Degree(d) => {
                    degree *= d;
                    (gap, pending) = (0, true);
                }
                Role::Sentiment(s) => {
                    total += s * degree * self.params.negation_factor.powi(negations);
                    matched += 1;
                    (negations, degree, pending) = (0, 1.0, false);
                }
                Role::Other => {
                    gap += 1;
                    if pending && gap > self.params.window {
                        (negations, degree, pending) = (0, 1.0, false);
                    }
                }
            }
        }
        let label = if total > self.params.neutral_band {
            Sentiment::Positive
        } else if total < -self.params.neutral_band {
            Sentiment::Negative
        } else {
            Sentiment::Neutral
        };
        LexiconScore {
            score: total,
            label,
            matched,
        }
    }

    /// Tokens of an already lowercased text.
    fn tokens(&self, lower: &str) -> Vec<Token> {
        let chars: Vec<(usize, char)> = lower.char_indices().collect();
        let byte_at = |i: usize| chars.get(i).map_or(lower.len(), |&(b, _)| b);
        let mut out = Vec::new();
        // User words first: every other token is cut from the gaps between them.
        let mut start = 0;
        let mut i = 0;
        while i < chars.len() {
            let cap = self
                .longest_user_from
                .get(&chars[i].1)
                .copied()
                .unwrap_or(0);
            match longest_match(&self.user, lower, &chars, i, cap.min(chars.len() - i)) {
                Some(len) => {
                    self.tokens_between(lower, &chars, start, i, &mut out);
                    out.push(Token::Word(byte_at(i), byte_at(i + len)));
                    i += len;
                    start = i;
                }
                None => i += 1,
            }
        }
        self.tokens_between(lower, &chars, start, chars.len(), &mut out);
        out
    }

    /// Tokens of `chars[from..to]`, which holds no user word.
    fn tokens_between(
        &self,
        lower: &str,
        chars: &[(usize, char)],
        from: usize,
        to: usize,
        out: &mut Vec<Token>,
    ) {
        let byte_at = |i: usize| chars.get(i).map_or(lower.len(), |&(b, _)| b);
        let mut i = from;
        while i < to {
            let c = chars[i].1;
            if dense_script(c) {
                // Forward maximum matching, one character when no word starts here.
                let cap = self.longest_from.get(&c).copied().unwrap_or(1);
                let mut run = i + 1;
                while run < to && run - i < cap && dense_script(chars[run].1) {
                    run += 1;
                }
                let len =
                    longest_match(&self.lexicon_words(), lower, chars, i, run - i).unwrap_or(1);
                out.push(Token::Word(byte_at(i), byte_at(i + len)));
                i += len;
            } else if c.is_alphanumeric() {
                let mut end = i + 1;
                while end < to {
                    let d = chars[end].1;
                    let inner_apostrophe = (d == '\'' || d == '’')
                        && end + 1 < to
                        && chars[end + 1].1.is_alphanumeric()
                        && !dense_script(chars[end + 1].1);
                    if (d.is_alphanumeric() && !dense_script(d)) || inner_apostrophe {
                        end += 1;
                    } else {
                        break;
                    }
                }
                out.push(Token::Word(byte_at(i), byte_at(end)));
                i = end;
            } else {
                if !c.is_whitespace() && out.last() != Some(&Token::Break) {
                    out.push(Token::Break);
                }
                i += 1;
            }
        }
    }

    fn lexicon_words(&self) -> LexiconWords<'_> {
        LexiconWords(&self.lexicon)
    }
}

/// Membership in any of the lexicon's word sets, for maximum matching.
struct LexiconWords<'a>(&'a Lexicon);

trait Contains {
    fn has(&self, word: &str) -> bool;
}

impl Contains for LexiconWords<'_> {
    fn has(&self, word: &str) -> bool {
        let l = self.0;
        l.sentiment.contains_key(word) || l.degree.contains_key(word) || l.negation.contains(word)
    }
}

impl Contains for FastSet<String> {
    fn has(&self, word: &str) -> bool {
        self.contains(word)
    }
}

/// Length in characters of the longest word of `dict` starting at character `i`, trying at
/// most `max` characters; lengths of one count only when the character itself is a word.
fn longest_match(
    dict: &impl Contains,
    lower: &str,
    chars: &[(usize, char)],
    i: usize,
    max: usize,
) -> Option<usize> {
    let byte_at = |k: usize| chars.get(k).map_or(lower.len(), |&(b, _)| b);
    (1..=max)
        .rev()
        .find(|&len| dict.has(&lower[byte_at(i)..byte_at(i + len)]))
}

fn note_length(longest: &mut FastMap<char, usize>, word: &str, cap: usize) {
    if let Some(first) = word.chars().next() {
        let len = word.chars().count().min(cap);
        let e = longest.entry(first).or_insert(0);
        *e = (*e).max(len);
    }
}

/// Scripts written without spaces between words: Han ideographs (with 々 and 〇) and kana.
pub(crate) fn dense_script(c: char) -> bool {
    matches!(c,
        '\u{3005}' | '\u{3007}'
        | '\u{3040}'..='\u{30FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{3134F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEGREE: &str = "\u{feff}中文程度级别词语\t\t219\r\n\r\n1. “极其|extreme / 最|most”\t69\r\n非常\r\n极\r\n\
        \r\n2. “很|very”\t42\r\n很\r\n太\r\n愈 ... 愈\r\n\r\n4. “稍|-ish”\t29\r\n有点\r\n";

    fn scorer(user: &[&str]) -> LexiconScorer {
        let scores = parse_word_scores(
            "\u{feff}好吃 1.5\n好 2.0\n难吃 -3.2\n贵 -1.5\n很 0.53\ngood 2.2\n高峰 0.1\n",
        )
        .unwrap();
        let degree = parse_degree_words(DEGREE).unwrap();
        let negation = parse_word_list("不\r\n没\r\nnot\r\n");
        LexiconScorer::new(
            Lexicon::new(scores, degree, negation),
            user,
            LexiconParams::default(),
        )
        .unwrap()
    }

    #[test]
    fn parses_the_lexicon_formats() {
        let s = parse_word_scores("\u{feff}最尼玛 -6.7\nfuck... -6.3\n\nnot bad 1.5\n").unwrap();
        assert_eq!(s[0], ("最尼玛".to_owned(), -6.7));
        assert_eq!(s[2], ("not bad".to_owned(), 1.5));
        let err = parse_word_scores("好 2.0\n坏\n").unwrap_err();
        assert_eq!(
            err,
            TextError::Lexicon {
                line: 2,
                text: "坏".to_owned(),
                reason: "expected `word score`"
            }
        );
        assert!(err.to_string().contains("line 2"));
        assert!(matches!(
            parse_word_scores("好 x\n"),
            Err(TextError::Lexicon { line: 1, .. })
        ));
        assert!(matches!(
            parse_word_scores("好 inf\n"),
            Err(TextError::Lexicon { line: 1, .. })
        ));

        let d = parse_degree_words(DEGREE).unwrap();
        let expect = [
            ("非常", 2.0),
            ("极", 2.0),
            ("很", 1.75),
            ("太", 1.75),
            ("有点", 0.75),
        ];
        let got: Vec<(&str, f64)> = d.iter().map(|(w, v)| (w.as_str(), *v)).collect();
        assert_eq!(got, expect);
        assert!(matches!(
            parse_degree_words("1. “极其”\t1\n非常\n9. “?”\t1\n"),
            Err(TextError::Lexicon { line: 3, .. })
        ));
        // Without headings: `word weight` lines.
        assert_eq!(
            parse_degree_words("very 1.75\n").unwrap(),
            vec![("very".to_owned(), 1.75)]
        );
        assert_eq!(parse_word_list("不\r\n\r\n 没 \r\n"), vec!["不", "没"]);
    }

    #[test]
    fn negation_flips_sentiment() {
        let s = scorer(&[]);
        let pos = s.score("好吃");
        assert!(pos.score > 0.0 && pos.label == Sentiment::Positive);
        let neg = s.score("不好吃");
        assert_eq!(s.segment("不好吃"), vec!["不", "好吃"]);
        assert!(neg.score < 0.0 && neg.label == Sentiment::Negative);
        assert!((neg.score + pos.score).abs() < 1e-12);
        // Double negation flips back; a clause break or a long gap ends the negation.
        assert!(s.score("不是不好吃").score > 0.0);
        assert!(s.score("不，好吃").score > 0.0);
        assert!(s.score("不 知 道 是 否 好吃").score > 0.0);
        // "好吃不贵": 贵 is negated → both parts positive.
        assert!((s.score("好吃不贵").score - 3.0).abs() < 1e-12);
        // Nothing found → neutral.
        assert_eq!(s.score("今天星期三").label, Sentiment::Neutral);
        assert_eq!(s.score("").matched, 0);
    }

    #[test]
    fn degree_words_scale_the_magnitude() {
        let s = scorer(&[]);
        let base = s.score("好").score;
        assert!(s.score("非常好").score > base);
        assert!((s.score("非常好").score - 2.0 * base).abs() < 1e-12);
        // 很 is a degree word even though the lexicon also scores it.
        assert!((s.score("很好").score - 1.75 * base).abs() < 1e-12);
        assert!(s.score("有点好").score < base);
        // Degree and negation combine: 不很好 = −1.75 × 2.
        assert!((s.score("不很好").score + 3.5).abs() < 1e-12);
    }

    #[test]
    fn user_words_stay_whole() {
        let s = scorer(&["阶梯电价", "峰谷电价", "台区"]);
        assert_eq!(
            s.segment("阶梯电价太贵了"),
            vec!["阶梯电价", "太", "贵", "了"]
        );
        // 高峰 is a lexicon word that overlaps 峰谷电价; the user word wins.
        assert_eq!(s.segment("高峰谷电价"), vec!["高", "峰谷电价"]);
        assert!(s.score("阶梯电价太贵").score < -1.5 * 1.75 + 1e-9);
        let plain = scorer(&[]);
        assert_eq!(plain.segment("高峰谷电价"), vec!["高峰", "谷", "电", "价"]);
    }

    #[test]
    fn english_and_mixed_text() {
        let s = scorer(&["APP"]);
        assert_eq!(
            s.segment("The food is NOT good, don't go!"),
            vec!["the", "food", "is", "not", "good", "don't", "go"]
        );
        assert!(s.score("The food is NOT good").score < 0.0);
        assert!(s.score("Good food").score > 0.0);
        assert_eq!(
            s.segment("app很好用95598"),
            vec!["app", "很", "好", "用", "95598"]
        );
    }

    #[test]
    fn rejects_bad_params() {
        let p = LexiconParams {
            max_word_chars: 0,
            ..LexiconParams::default()
        };
        assert!(LexiconScorer::new(Lexicon::default(), &[], p).is_err());
        let p = LexiconParams {
            neutral_band: -1.0,
            ..LexiconParams::default()
        };
        assert!(LexiconScorer::new(Lexicon::default(), &[], p).is_err());
    }
}
