//! Field paths (`spec.containers[0].ports[1].containerPort`), as Kubernetes' `field.Path`.
//!
//! Validation builds a path for every field it visits, on the success path too, so a
//! path lives on the stack: its text is kept inline up to [`INLINE`] bytes (every path
//! of the built-in kinds but the most deeply nested) and goes to the heap only beyond.

use std::fmt;
use std::hash::{Hash, Hasher};

/// The bytes of text a path keeps without allocating.
const INLINE: usize = 86;

/// A path to a field inside an object, printed as Kubernetes prints it:
/// `spec.containers[0].resources.requests[cpu]`.
#[derive(Clone, Default)]
pub struct FieldPath {
    text: Text,
}

#[derive(Clone)]
enum Text {
    /// `bytes[..len]` is the text (always UTF-8: only whole `str`s are appended).
    Inline {
        len: u8,
        bytes: [u8; INLINE],
    },
    Heap(String),
}

impl Default for Text {
    fn default() -> Text {
        Text::Inline {
            len: 0,
            bytes: [0; INLINE],
        }
    }
}

impl FieldPath {
    /// A path starting at the top-level field `name`.
    pub fn new(name: &str) -> FieldPath {
        FieldPath::root().joined(&[name])
    }

    /// The empty path (the object itself).
    pub fn root() -> FieldPath {
        FieldPath::default()
    }

    /// `self.name`.
    #[must_use]
    pub fn child(&self, name: &str) -> FieldPath {
        if self.is_empty() {
            self.joined(&[name])
        } else {
            self.joined(&[".", name])
        }
    }

    /// `self[index]`, for list elements.
    #[must_use]
    pub fn index(&self, index: usize) -> FieldPath {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut n = index;
        loop {
            at -= 1;
            // `n % 10` is a single decimal digit.
            digits[at] = b'0' + u8::try_from(n % 10).unwrap_or(0);
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let digits = std::str::from_utf8(&digits[at..]).unwrap_or_default();
        self.joined(&["[", digits, "]"])
    }

    /// `self[key]`, for map entries.
    #[must_use]
    pub fn key(&self, key: &str) -> FieldPath {
        self.joined(&["[", key, "]"])
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        match &self.text {
            // Inline text is built from whole `str`s only, so this never fails.
            Text::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Text::Heap(s) => s,
        }
    }

    fn bytes(&self) -> &[u8] {
        match &self.text {
            Text::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Text::Heap(s) => s.as_bytes(),
        }
    }

    fn is_empty(&self) -> bool {
        self.bytes().is_empty()
    }

    /// This path with `parts` appended.
    fn joined(&self, parts: &[&str]) -> FieldPath {
        let old = self.bytes();
        let total = old.len() + parts.iter().map(|p| p.len()).sum::<usize>();
        if total <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..old.len()].copy_from_slice(old);
            let mut at = old.len();
            for p in parts {
                bytes[at..at + p.len()].copy_from_slice(p.as_bytes());
                at += p.len();
            }
            FieldPath {
                text: Text::Inline {
                    len: u8::try_from(total).unwrap_or(u8::MAX),
                    bytes,
                },
            }
        } else {
            let mut text = String::with_capacity(total);
            text.push_str(self.as_str());
            for p in parts {
                text.push_str(p);
            }
            FieldPath {
                text: Text::Heap(text),
            }
        }
    }
}

impl PartialEq for FieldPath {
    fn eq(&self, other: &FieldPath) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for FieldPath {}

impl Hash for FieldPath {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldPath")
            .field("text", &self.as_str())
            .finish()
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    #[test]
    fn paths_print_like_kubernetes() {
        let p = FieldPath::new("spec").child("containers").index(0);
        assert_eq!(p.child("name").to_string(), "spec.containers[0].name");
        assert_eq!(
            p.child("resources")
                .child("requests")
                .key("cpu")
                .to_string(),
            "spec.containers[0].resources.requests[cpu]"
        );
        assert_eq!(FieldPath::root().child("metadata").as_str(), "metadata");
    }

    #[test]
    fn long_paths_move_to_the_heap_unchanged() {
        let mut p = FieldPath::new("spec");
        let mut text = String::from("spec");
        for i in [0, 7, 42, 1234, usize::MAX] {
            p = p.child("templates").index(i).key("clé/ключ");
            write!(text, ".templates[{i}][clé/ключ]").expect("a string");
            assert_eq!(p.as_str(), text);
            assert_eq!(p, FieldPath::new(&text));
        }
        assert!(text.len() > INLINE, "the last paths are on the heap");
        assert_eq!(format!("{p:?}"), format!("FieldPath {{ text: {text:?} }}"));
        let s = std::hash::RandomState::new();
        assert_eq!(
            std::hash::BuildHasher::hash_one(&s, &p),
            std::hash::BuildHasher::hash_one(&s, FieldPath::new(&text))
        );
        assert_eq!(FieldPath::root(), FieldPath::default());
        assert_eq!(FieldPath::root().as_str(), "");
    }
}
