//! A small sentiment lexicon for power-service language, written for this project, in Chinese
//! and English: what customers say in work orders and survey comments (满意, 态度差, 停电,
//! "not helpful", "overcharged"…), with degree and negation words for both languages.
//!
//! It is the default when no larger lexicon (such as BosonNLP's) is given, so that sentiment
//! works out of the box, and its entries are laid over a larger lexicon when one is given,
//! because general-purpose lexicons score service terms oddly (BosonNLP rates 停电 and 欠费
//! barely negative). Scores are on a ±2.5 scale; degree weights multiply, negations flip.

use super::Lexicon;

const SENTIMENT: &[(&str, f64)] = &[
    // Chinese, positive
    ("满意", 2.0),
    ("感谢", 2.0),
    ("谢谢", 1.5),
    ("点赞", 2.0),
    ("好评", 2.0),
    ("表扬", 2.0),
    ("专业", 1.0),
    ("热情", 1.5),
    ("耐心", 1.5),
    ("及时", 1.5),
    ("很快", 1.0),
    ("迅速", 1.5),
    ("方便", 1.0),
    ("不错", 1.5),
    ("挺好", 1.5),
    ("辛苦", 1.0),
    ("周到", 1.5),
    ("贴心", 1.5),
    ("高效", 1.5),
    ("优秀", 1.5),
    ("负责", 1.0),
    ("顺利", 1.0),
    ("放心", 1.0),
    ("礼貌", 1.0),
    ("解决", 1.0),
    ("合理", 0.5),
    ("清楚", 0.5),
    ("明白", 0.5),
    ("推荐", 1.0),
    ("还可以", 0.5),
    ("好", 1.0),
    ("棒", 1.5),
    ("赞", 1.5),
    // Chinese, negative
    ("不满", -2.0),
    ("不满意", -2.0),
    ("失望", -2.0),
    ("生气", -2.0),
    ("气愤", -2.0),
    ("愤怒", -2.5),
    ("恶劣", -2.5),
    ("垃圾", -2.5),
    ("糟糕", -2.0),
    ("离谱", -2.0),
    ("敷衍", -2.0),
    ("推诿", -2.0),
    ("扯皮", -2.0),
    ("不耐烦", -2.0),
    ("受不了", -2.0),
    ("乱收费", -2.0),
    ("投诉", -1.0),
    ("差", -1.5),
    ("慢", -1.0),
    ("拖", -1.0),
    ("拖延", -1.5),
    ("着急", -1.0),
    ("担心", -1.0),
    ("奇怪", -1.0),
    ("无语", -1.5),
    ("坏了", -1.0),
    ("故障", -1.0),
    ("算错", -1.5),
    ("有误", -1.0),
    ("错误", -1.0),
    ("不准", -1.0),
    ("怀疑", -0.5),
    ("抄错", -1.5),
    ("失败", -1.5),
    ("占线", -1.0),
    ("繁忙", -0.5),
    ("危险", -1.0),
    ("贵", -1.0),
    ("涨", -0.5),
    ("停电", -1.0),
    ("欠费", -0.5),
    ("违约金", -1.0),
    ("问题", -0.5),
    ("影响", -0.5),
    ("不可能", -0.5),
    // English, positive
    ("good", 1.0),
    ("great", 2.0),
    ("excellent", 2.0),
    ("helpful", 1.5),
    ("friendly", 1.5),
    ("quick", 1.0),
    ("fast", 1.0),
    ("thank", 1.5),
    ("thanks", 1.5),
    ("satisfied", 2.0),
    ("happy", 1.5),
    ("solved", 1.0),
    ("resolved", 1.0),
    ("fixed", 1.0),
    ("professional", 1.0),
    ("polite", 1.0),
    ("efficient", 1.5),
    ("appreciate", 1.0),
    ("nice", 1.0),
    ("recommend", 1.0),
    ("okay", 0.3),
    // English, negative
    ("bad", -1.5),
    ("poor", -1.5),
    ("terrible", -2.5),
    ("awful", -2.5),
    ("worst", -2.5),
    ("worse", -1.5),
    ("slow", -1.0),
    ("disappointed", -2.0),
    ("disappointing", -2.0),
    ("angry", -2.0),
    ("annoyed", -1.5),
    ("frustrated", -2.0),
    ("frustrating", -2.0),
    ("unacceptable", -2.5),
    ("rude", -2.0),
    ("unhelpful", -1.5),
    ("useless", -2.0),
    ("unfair", -1.5),
    ("wrong", -1.0),
    ("broken", -1.0),
    ("failed", -1.5),
    ("fails", -1.5),
    ("overcharged", -2.0),
    ("expensive", -1.0),
    ("outage", -1.0),
    ("problem", -0.5),
    ("complaint", -1.0),
    ("escalate", -1.0),
    ("dangerous", -1.0),
];

const DEGREE: &[(&str, f64)] = &[
    ("非常", 2.0),
    ("太", 2.0),
    ("极其", 2.0),
    ("超级", 2.0),
    ("最", 2.0),
    ("实在", 1.75),
    ("特别", 1.75),
    ("十分", 1.75),
    ("很", 1.5),
    ("真", 1.5),
    ("更", 1.5),
    ("挺", 1.25),
    ("比较", 1.2),
    ("有点", 0.75),
    ("有些", 0.75),
    ("稍微", 0.5),
    ("略微", 0.5),
    ("extremely", 2.0),
    ("totally", 2.0),
    ("absolutely", 2.0),
    ("incredibly", 2.0),
    ("highly", 1.75),
    ("really", 1.5),
    ("very", 1.5),
    ("so", 1.5),
    ("too", 1.5),
    ("quite", 1.25),
    ("pretty", 1.25),
    ("somewhat", 0.75),
    ("bit", 0.75),
    ("slightly", 0.5),
];

const NEGATION: &[&str] = &[
    "不", "没", "没有", "未", "无", "别", "并非", "从未", "不是", "不太", "不够", "不会", "难以",
    "毫无", "not", "no", "never", "nobody", "nothing", "without", "hardly", "don't", "dont",
    "didn't", "didnt", "doesn't", "isn't", "wasn't", "aren't", "weren't", "can't", "cannot",
    "couldn't", "won't", "haven't", "hasn't",
];

/// The built-in service lexicon.
pub fn service_lexicon() -> Lexicon {
    let mut lexicon = Lexicon::default();
    lay_service_words_over(&mut lexicon);
    lexicon
}

/// Adds (or replaces) the built-in entries in `lexicon`, e.g. one read from BosonNLP's files.
pub fn lay_service_words_over(lexicon: &mut Lexicon) {
    for &(w, s) in SENTIMENT {
        lexicon.insert_sentiment(w, s);
    }
    for &(w, d) in DEGREE {
        lexicon.insert_degree(w, d);
    }
    for w in NEGATION {
        lexicon.insert_negation(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{LexiconParams, LexiconScorer, Sentiment};

    fn scorer() -> LexiconScorer {
        LexiconScorer::new(
            service_lexicon(),
            &["电费", "停电"],
            LexiconParams::default(),
        )
        .unwrap()
    }

    #[test]
    fn negation_flips_in_both_languages() {
        let s = scorer();
        assert_eq!(s.score("服务很满意").label, Sentiment::Positive);
        assert_eq!(s.score("服务不满意").label, Sentiment::Negative);
        assert_eq!(s.score("客服没有解决问题").label, Sentiment::Negative);
        assert_eq!(s.score("The agent was helpful").label, Sentiment::Positive);
        assert_eq!(
            s.score("The agent was not helpful at all").label,
            Sentiment::Negative
        );
        assert_eq!(s.score("Nobody solved it").label, Sentiment::Negative);
    }

    #[test]
    fn degree_words_scale() {
        let s = scorer();
        let plain = s.score("失望").score;
        let strong = s.score("非常失望").score;
        let weak = s.score("有点失望").score;
        assert!(strong < plain && plain < weak && weak < 0.0);
        assert!(s.score("extremely slow").score < s.score("slightly slow").score);
    }

    #[test]
    fn every_entry_is_lowercase_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for w in SENTIMENT
            .iter()
            .map(|e| e.0)
            .chain(DEGREE.iter().map(|e| e.0))
            .chain(NEGATION.iter().copied())
        {
            assert_eq!(w, w.to_lowercase());
            assert!(seen.insert(w), "{w} listed twice");
        }
    }
}
