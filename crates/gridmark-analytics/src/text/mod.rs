//! Text analytics for customer reviews and complaints: supervised classification over character
//! n-grams, its evaluation protocol, and a training-free lexicon sentiment scorer.
//!
//! * [`tfidf`]: character n-gram TF-IDF features, equal to scikit-learn's
//!   `TfidfVectorizer(analyzer="char", ngram_range=(1, 2))` with its defaults (lowercase,
//!   smoothed idf, raw term counts, L2 norm) and the same alphabetical feature order.
//! * [`linear`]: linear classifiers on sparse vectors trained by dual coordinate descent
//!   (LIBLINEAR's L2-regularised L2-loss SVM and logistic regression), binary or one-vs-rest,
//!   with the classes trained in parallel.
//! * [`eval`]: accuracy, macro-F1, a stratified train/test split and stratified k-fold
//!   assignment for multi-class labels.
//! * [`lexicon`]: sentiment from a word-score lexicon (e.g. BosonNLP) with negation and degree
//!   words, over forward-maximum-matching segmentation that keeps user dictionary terms whole.
//! * [`builtin`]: a small Chinese and English lexicon of power-service language, the default.
//! * [`topics`]: language detection, candidate terms and keywords, and hot and emerging terms
//!   per week with a Poisson significance test.
//!
//! Nothing here reads files: lexicons are parsed from strings the caller has read.
//!
//! ```
//! use gridmark_analytics::text::{linear, TfidfParams, TfidfVectorizer};
//!
//! let docs = ["电费太贵", "电费很贵", "服务很好", "服务太好"];
//! let labels = [0, 0, 1, 1];
//! let vectorizer = TfidfVectorizer::fit(&docs, &TfidfParams::default()).unwrap();
//! let x = vectorizer.transform_many(&docs, 1);
//! let model = linear::fit(&x, &labels, 2, &linear::LinearParams::default()).unwrap();
//! assert_eq!(model.predict(&vectorizer.transform("服务好")), 1);
//! ```

use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

pub mod builtin;
pub mod eval;
pub mod lexicon;
pub mod linear;
pub mod tfidf;
pub mod topics;

pub use lexicon::{Lexicon, LexiconParams, LexiconScore, LexiconScorer, Sentiment};
pub use linear::{LinearModel, LinearParams, Loss};
pub use tfidf::{SparseVec, TfidfParams, TfidfVectorizer};
pub use topics::{Language, TopicParams, WeekTerm};

/// Why a text operation failed.
#[derive(Debug, Clone, PartialEq)]
pub enum TextError {
    /// No training documents or rows.
    Empty,
    /// No term reached `min_df`, so there are no features.
    NoFeatures,
    /// Two inputs that must have one entry per row differ in length.
    LengthMismatch {
        /// Rows on one side (e.g. feature vectors).
        left: usize,
        /// Rows on the other side (e.g. labels).
        right: usize,
    },
    /// A label is not below `n_classes`.
    LabelOutOfRange {
        /// Row of the label.
        row: usize,
        /// The label.
        label: usize,
        /// Number of classes.
        n_classes: usize,
    },
    /// A parameter is out of its documented range.
    InvalidParams(&'static str),
    /// A sparse vector's indices are not strictly increasing or do not match its values.
    BadSparseVec,
    /// A lexicon line could not be read.
    Lexicon {
        /// 1-based line number.
        line: usize,
        /// The line as written.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A saved vocabulary or model could not be read.
    Format {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("no training documents"),
            Self::NoFeatures => f.write_str("no term occurs in at least min_df documents"),
            Self::LengthMismatch { left, right } => {
                write!(f, "inputs differ in length ({left} and {right} rows)")
            }
            Self::LabelOutOfRange {
                row,
                label,
                n_classes,
            } => write!(
                f,
                "row {row}: label {label} is not below n_classes = {n_classes}"
            ),
            Self::InvalidParams(what) => write!(f, "invalid parameter: {what}"),
            Self::BadSparseVec => {
                f.write_str("sparse vector indices must be strictly increasing, one per value")
            }
            Self::Lexicon { line, text, reason } => {
                write!(f, "lexicon line {line} ({text:?}): {reason}")
            }
            Self::Format { line, reason } => write!(f, "saved model line {line}: {reason}"),
        }
    }
}

impl std::error::Error for TextError {}

/// A fast non-cryptographic hasher for the vocabulary and dictionary maps, which hash millions
/// of short keys per corpus (SipHash's flooding protection buys nothing on local data and
/// costs several times the lookup). Words are hashed 8 bytes at a time; every word ends with
/// a final avalanche so the low bits that pick a bucket depend on all input bits.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

const MIX: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.0 = (self.0 ^ u64::from_le_bytes(word))
                .wrapping_mul(MIX)
                .rotate_left(29);
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.0 = (self.0 ^ u64::from_le_bytes(tail) ^ rest.len() as u64)
            .wrapping_mul(MIX)
            .rotate_left(29);
    }

    fn write_u8(&mut self, x: u8) {
        // `str` hashing appends a 0xFF terminator byte; fold it in cheaply.
        self.0 = (self.0 ^ u64::from(x)).wrapping_mul(MIX);
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0 ^ x).wrapping_mul(MIX).rotate_left(29);
    }

    fn finish(&self) -> u64 {
        // splitmix64's finaliser.
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FastHasher>>;
pub(crate) type FastSet<K> = std::collections::HashSet<K, BuildHasherDefault<FastHasher>>;
