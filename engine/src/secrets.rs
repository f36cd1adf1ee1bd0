//! Secret values the run must never show.
//!
//! Vault values, passwords passed on the command line and anything a playbook
//! marks as secret are registered here as soon as they are known. Every string
//! that leaves the engine for a human or a machine (reports, diffs, error
//! messages, JSON events) goes through [`Secrets::mask`] on its way out: see
//! [`crate::report::Masked`]. Masking at the output rather than at the source
//! means a template that happens to interpolate a secret into a config file is
//! still safe to diff.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};

/// What a secret is replaced with. Fixed width, so the output does not even
/// reveal a secret's length.
pub const PLACEHOLDER: &str = "********";

/// Values shorter than this (in characters) are not registered: masking `yes`,
/// `80` or `on` everywhere would garble the output while protecting nothing
/// worth protecting.
pub const MIN_LEN: usize = 4;

/// A shared registry of secret values.
///
/// Cloning is cheap and every clone sees the same values: the executor's host
/// threads register secrets as scripts reveal them while the reporters, on
/// other threads, mask with the same set. Reads (masking) vastly outnumber
/// writes (registering), hence the `RwLock`.
#[derive(Clone, Default)]
pub struct Secrets {
    /// Distinct values, and what finds them.
    values: Arc<RwLock<Values>>,
    /// Credential names and their whole trimmed values, short ones included:
    /// a file holding nothing but a secret is recognised by it, and said to
    /// use it by name (see [`Secrets::whole`]).
    named: Arc<RwLock<Vec<(String, String)>>>,
}

/// The registered values and an automaton finding them in one pass: a run
/// with many vaulted values (each with its forms) masks every line of its
/// output, and a search per value made that cost grow with them.
#[derive(Default)]
struct Values {
    list: Vec<String>,
    known: HashSet<String>,
    matcher: Mutex<Option<Arc<Matcher>>>,
}

/// An automaton over the first `covers` registered values. Values added
/// since are searched one by one until [`UNINDEXED_MAX`] of them wait: a
/// run that registers a value per host between two lines of output then
/// does not rebuild the automaton for each.
struct Matcher {
    covers: usize,
    /// `None` if it could not be built: every value is then searched alone.
    automaton: Option<AhoCorasick>,
}

/// How many values may wait outside the automaton.
const UNINDEXED_MAX: usize = 64;

impl Values {
    fn matcher(&self) -> Arc<Matcher> {
        let mut matcher = self.matcher.lock().unwrap_or_else(PoisonError::into_inner);
        match &*matcher {
            Some(built) if self.list.len() - built.covers <= UNINDEXED_MAX => built.clone(),
            _ => {
                let automaton = AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&self.list)
                    .ok();
                let built = Arc::new(Matcher {
                    covers: self.list.len(),
                    automaton,
                });
                *matcher = Some(built.clone());
                built
            }
        }
    }

    /// Every occurrence of every value in `haystack`, overlapping ones too
    /// (`aaaa` twice in `aaaaa`), unsorted.
    fn occurrences(&self, haystack: &[u8]) -> Vec<Range<usize>> {
        let matcher = self.matcher();
        match &matcher.automaton {
            Some(automaton) => {
                let mut found: Vec<Range<usize>> = automaton
                    .find_overlapping_iter(haystack)
                    .map(|m| m.range())
                    .collect();
                found.extend(by_value(&self.list[matcher.covers..], haystack));
                found
            }
            None => by_value(&self.list, haystack),
        }
    }
}

/// Every occurrence of each of `values` in `haystack`, searched one by one.
fn by_value(values: &[String], haystack: &[u8]) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    for needle in values.iter().map(String::as_bytes) {
        let mut from = 0;
        while let Some(at) = find_bytes(&haystack[from..], needle) {
            found.push(from + at..from + at + needle.len());
            from += at + 1;
        }
    }
    found
}

/// Why a content is hidden whole: it is nothing but a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WholeSecret {
    /// The value of the credential of that name.
    Named(String),
    /// A registered value that has no name (a vault value, a derived form).
    Unnamed,
}

impl fmt::Display for WholeSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WholeSecret::Named(name) => write!(f, "uses secret {name}"),
            WholeSecret::Unnamed => f.write_str("holds a secret"),
        }
    }
}

impl fmt::Debug for Secrets {
    /// Shows how many values are registered, never the values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("count", &self.len())
            .finish()
    }
}

impl Secrets {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a secret value.
    ///
    /// Values shorter than [`MIN_LEN`] characters are ignored (see there).
    /// What is registered is chosen by how secrets actually show up in output:
    ///
    /// - the value without surrounding whitespace: a password file's trailing
    ///   newline is rarely templated along with the password, and masking it
    ///   would glue the next line onto the placeholder (whitespace reveals
    ///   nothing worth hiding);
    /// - each line of a multi-line value, trimmed: a private key re-indented
    ///   into YAML no longer matches as a whole, but each of its lines does.
    ///
    /// Each of them is registered with the forms it takes once a template
    /// filter or an encoder has been through it ([`derived_forms`]): masking
    /// matches text, and `HUNTER22` is no less the password than `hunter22`.
    pub fn add(&self, value: &str) {
        let mut candidates = vec![value.trim()];
        if value.contains('\n') {
            candidates.extend(value.lines().map(str::trim));
        }
        let forms: Vec<String> = candidates
            .into_iter()
            .filter(|c| c.chars().count() >= MIN_LEN)
            .flat_map(derived_forms)
            .collect();
        let mut values = self.values.write().unwrap_or_else(PoisonError::into_inner);
        for form in forms {
            if form.chars().count() >= MIN_LEN && values.known.insert(form.clone()) {
                values.list.push(form);
            }
        }
    }

    /// Registers the value of the credential `name`: masked as [`Secrets::add`]
    /// masks it, and remembered whole (even when too short to mask) so that a
    /// file holding only it is hidden by name.
    pub fn add_named(&self, name: &str, value: &str) {
        self.add(value);
        let whole = value.trim();
        if whole.is_empty() {
            return;
        }
        let mut named = self.named.write().unwrap_or_else(PoisonError::into_inner);
        if !named.iter().any(|(n, v)| n == name && v == whole) {
            named.push((name.to_owned(), whole.to_owned()));
        }
    }

    /// Whether `content`, surrounding whitespace aside, is nothing but a
    /// secret: such a content (an Erlang cookie, a cluster token) cannot be
    /// shown even partly, and its old value on a host is the rotated secret.
    pub fn whole(&self, content: &[u8]) -> Option<WholeSecret> {
        let text = std::str::from_utf8(content).ok()?.trim();
        if text.is_empty() {
            return None;
        }
        let named = self.named.read().unwrap_or_else(PoisonError::into_inner);
        if let Some((name, _)) = named.iter().find(|(_, v)| v == text) {
            return Some(WholeSecret::Named(name.clone()));
        }
        drop(named);
        let values = self.values.read().unwrap_or_else(PoisonError::into_inner);
        values.known.contains(text).then_some(WholeSecret::Unnamed)
    }

    /// How many distinct values are registered (derived forms included).
    pub fn len(&self) -> usize {
        self.values
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .list
            .len()
    }

    /// Whether nothing is registered: reporters then skip masking entirely.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaces every occurrence of every secret in `text` with
    /// [`PLACEHOLDER`].
    ///
    /// Occurrences that overlap (a secret containing another, two secrets
    /// sharing characters, a secret repeated over itself) are merged and
    /// masked as one, so no fragment of any secret survives.
    pub fn mask(&self, text: &str) -> String {
        let ranges = self.find(text.as_bytes());
        if ranges.is_empty() {
            return text.to_owned();
        }
        // The ranges start and end on character boundaries: they are matches
        // of valid UTF-8 needles in valid UTF-8, which is self-synchronising.
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        for range in ranges {
            out.push_str(&text[pos..range.start]);
            out.push_str(PLACEHOLDER);
            pos = range.end;
        }
        out.push_str(&text[pos..]);
        out
    }

    /// [`Secrets::mask`] for raw bytes: file contents and command output need
    /// not be UTF-8, and must be masked before being decoded lossily (decoding
    /// first could split a secret around a replacement character).
    pub fn mask_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let ranges = self.find(bytes);
        let mut out = Vec::with_capacity(bytes.len());
        let mut pos = 0;
        for range in ranges {
            out.extend_from_slice(&bytes[pos..range.start]);
            out.extend_from_slice(PLACEHOLDER.as_bytes());
            pos = range.end;
        }
        out.extend_from_slice(&bytes[pos..]);
        out
    }

    /// The byte ranges of `haystack` to mask: every occurrence of every
    /// secret, overlapping ones merged, sorted. For callers that need to know
    /// where the masked parts came from (the diff renderer compares the
    /// original bytes behind each masked line).
    pub fn find(&self, haystack: &[u8]) -> Vec<Range<usize>> {
        let values = self.values.read().unwrap_or_else(PoisonError::into_inner);
        if values.list.is_empty() {
            return Vec::new();
        }
        let mut found = values.occurrences(haystack);
        drop(values);
        found.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(found.len());
        for range in found {
            match merged.last_mut() {
                Some(last) if range.start < last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        merged
    }
}

/// `value` and what templates and encoders make of it: upper and lower case
/// (filters), URL-encoded, HTML-escaped, JSON-escaped and base64. Each is
/// masked wherever it appears, as the value itself is.
pub fn derived_forms(value: &str) -> Vec<String> {
    use base64::Engine as _;
    let json = serde_json::to_string(value).unwrap_or_default();
    let mut forms = vec![
        value.to_owned(),
        value.to_uppercase(),
        value.to_lowercase(),
        url_encoded(value, b"-._~"),
        url_encoded(value, b"/._-"),
        html_escaped(value),
        json[1..json.len() - 1].to_owned(),
        base64::engine::general_purpose::STANDARD.encode(value),
    ];
    forms.extend(crate::template::encoded_forms(value));
    forms.sort();
    forms.dedup();
    forms
}

/// Percent-encoding of every byte but ASCII letters, digits and `safe`, in
/// upper-case hex: with RFC 3986's unreserved set as most encoders do, and
/// with minijinja's `urlencode` set (which keeps `/`).
fn url_encoded(value: &str, safe: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || safe.contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// HTML escaping as minijinja's auto-escape and `escape` filter do it.
fn html_escaped(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("&#x2f;"),
            c => out.push(c),
        }
    }
    out
}

/// First position of `needle` in `haystack`: a scan for the first byte, then a
/// comparison: the search of the values an automaton does not cover
/// ([`Values::occurrences`]).
fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let last_start = haystack.len().checked_sub(needle.len())?;
    let mut i = 0;
    while i <= last_start {
        let at = haystack[i..=last_start].iter().position(|&b| b == first)?;
        let start = i + at;
        if &haystack[start + 1..start + needle.len()] == rest {
            return Some(start);
        }
        i = start + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(values: &[&str]) -> Secrets {
        let s = Secrets::new();
        for v in values {
            s.add(v);
        }
        s
    }

    #[test]
    fn masks_every_occurrence() {
        let s = secrets(&["hunter22"]);
        assert_eq!(
            s.mask("pass=hunter22 again hunter22."),
            "pass=******** again ********."
        );
    }

    #[test]
    fn nothing_registered_is_identity() {
        let s = Secrets::new();
        assert!(s.is_empty());
        assert_eq!(s.mask("anything at all"), "anything at all");
        assert_eq!(s.mask_bytes(b"\xffraw"), b"\xffraw");
    }

    #[test]
    fn short_values_are_ignored() {
        let s = secrets(&["abc", "", "yes", "ééé"]);
        assert!(s.is_empty());
        assert_eq!(s.mask("abc yes"), "abc yes");
        // Four characters, even if some are multi-byte, is enough.
        s.add("ééée");
        assert_eq!(s.mask("x ééée y"), "x ******** y");
    }

    #[test]
    fn containing_secret_is_masked_whole() {
        // Registered shortest first on purpose.
        let s = secrets(&["pass", "password123"]);
        assert_eq!(s.mask("a password123 b pass"), "a ******** b ********");
    }

    #[test]
    fn overlapping_secrets_leave_no_fragment() {
        let s = secrets(&["abcdef", "defghi"]);
        assert_eq!(s.mask("xabcdefghiy"), "x********y");
        let s = secrets(&["aaaa"]);
        assert_eq!(s.mask("aaaaaa b"), "******** b");
    }

    #[test]
    fn adjacent_occurrences_stay_separate() {
        let s = secrets(&["abcd"]);
        assert_eq!(s.mask("abcdabcd"), "****************");
    }

    #[test]
    fn trimmed_and_line_forms_are_registered() {
        let s = secrets(&["s3cr3t-value\n"]);
        assert_eq!(s.mask("key: s3cr3t-value"), "key: ********");

        let key = "-----BEGIN KEY-----\nAAAABBBBCCCC\nDDDDEEEE\n-----END KEY-----\n";
        let s = secrets(&[key]);
        // The final newline is kept: the next line stays a line of its own.
        assert_eq!(s.mask(&format!("{key}next")), "********\nnext");
        let reindented = "key: |\n  AAAABBBBCCCC\n  DDDDEEEE\n";
        assert_eq!(s.mask(reindented), "key: |\n  ********\n  ********\n");
    }

    #[test]
    fn derived_forms_are_masked_too() {
        let s = secrets(&["Pa ss/wörd\"1"]);
        for form in [
            "PA SS/WÖRD\"1",
            "pa ss/wörd\"1",
            "Pa%20ss%2Fw%C3%B6rd%221",
            "Pa%20ss/w%C3%B6rd%221",
            "Pa ss&#x2f;wörd&quot;1",
            "Pa ss/wörd\\\"1",
            "UGEgc3Mvd8O2cmQiMQ==",
        ] {
            assert_eq!(s.mask(&format!("x {form} y")), "x ******** y", "{form}");
        }
    }

    /// Whatever a template's filters make of a secret is masked: each
    /// filter that encodes text, rendered for real.
    #[test]
    fn what_the_templates_encoding_filters_make_of_a_secret_is_masked() {
        let secret = "Pa ss/w~o'rd\"1<&";
        let s = secrets(&[secret]);
        let dir = tempfile::tempdir().unwrap();
        let templates = crate::template::Templates::new(dir.path());
        let ctx = minijinja::context! { s => secret };
        for (source, masked) in [
            ("{{ s | urlencode }}", "********"),
            ("{{ {'k': s} | urlencode }}", "k=********"),
            ("{{ s | forceescape }}", "********"),
            ("{{ s | escape }}", "********"),
            ("{{ s | tojson }}", "\"********\""),
            ("{{ s | b64encode }}", "********"),
        ] {
            let out = templates.render_str(source, &ctx).unwrap();
            assert_eq!(s.mask(&out), masked, "{source} gives {out}");
        }
    }

    #[test]
    fn a_whole_content_is_recognised_by_name() {
        let s = Secrets::new();
        s.add_named("PIN", "123\n");
        s.add("vault-value");
        assert_eq!(s.whole(b" 123\n"), Some(WholeSecret::Named("PIN".into())));
        assert_eq!(s.whole(b"vault-value\n"), Some(WholeSecret::Unnamed));
        assert_eq!(s.whole(b"pin = 123\n"), None);
        assert_eq!(s.whole(b"\n"), None);
    }

    #[test]
    fn duplicates_are_stored_once() {
        let s = secrets(&["same-value", "same-value", " same-value \n"]);
        assert_eq!(s.len(), secrets(&["same-value"]).len());
    }

    #[test]
    fn unicode_text_is_masked_on_char_boundaries() {
        let s = secrets(&["mötley crüe"]);
        assert_eq!(s.mask("ünïcödé mötley crüe ✓"), "ünïcödé ******** ✓");
    }

    #[test]
    fn bytes_are_masked_without_decoding() {
        let s = secrets(&["token-1234"]);
        assert_eq!(
            s.mask_bytes(b"\xff\xfe token-1234\x00 token-1234"),
            b"\xff\xfe ********\x00 ********".to_vec()
        );
    }

    #[test]
    fn clones_share_values_across_threads() {
        let s = Secrets::new();
        let writer = s.clone();
        std::thread::spawn(move || writer.add("from-another-thread"))
            .join()
            .unwrap();
        assert_eq!(s.mask("x from-another-thread"), "x ********");
    }

    #[test]
    fn debug_never_shows_values() {
        let s = secrets(&["topsecret"]);
        let shown = format!("{s:?}");
        assert!(!shown.contains("topsecret"), "{shown}");
        assert!(shown.contains("count: "), "{shown}");
    }

    #[test]
    fn the_automaton_and_the_values_added_since_find_what_a_search_by_value_finds() {
        let texts = [
            "aaaaa hunter22hunter22 xx",
            "HUNTER22 p%40ss%2Fword cEBzcy93b3Jk",
            "no secret here",
            "Ab&amp;c&#x2f;d&quot;e aaaa k3y-0042",
        ];
        let s = secrets(&["aaaa", "hunter22", "ter2"]);
        let check = |s: &Secrets| {
            let values = s.values.read().unwrap();
            for text in texts {
                let mut found = values.occurrences(text.as_bytes());
                let mut expected = by_value(&values.list, text.as_bytes());
                found.sort_by_key(|r| (r.start, r.end));
                expected.sort_by_key(|r| (r.start, r.end));
                assert_eq!(found, expected, "{text}");
            }
        };
        check(&s);
        // Added after the automaton was built: searched alone, then (past
        // UNINDEXED_MAX) built into a new automaton.
        s.add("p@ss/word");
        s.add("Ab&c/d\"e");
        check(&s);
        assert!(s.values.read().unwrap().list.len() > 8);
        for i in 0..UNINDEXED_MAX {
            s.add(&format!("k3y-{i:04}"));
        }
        check(&s);
        let values = s.values.read().unwrap();
        let matcher = values.matcher();
        assert_eq!(matcher.covers, values.list.len(), "rebuilt");
        assert!(matcher.automaton.is_some());
    }

    #[test]
    fn find_bytes_edge_cases() {
        assert_eq!(find_bytes(b"", b"a"), None);
        assert_eq!(find_bytes(b"abc", b""), None);
        assert_eq!(find_bytes(b"abc", b"abcd"), None);
        assert_eq!(find_bytes(b"abc", b"abc"), Some(0));
        assert_eq!(find_bytes(b"aab", b"ab"), Some(1));
        assert_eq!(find_bytes(b"xyzab", b"ab"), Some(3));
    }
}
