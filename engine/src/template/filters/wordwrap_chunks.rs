//! The chunks Python's `textwrap` fills lines with: runs of whitespace
//! (ASCII's six, as `textwrap` counts them) and the words between them,
//! which with `break_on_hyphens` split further as `TextWrapper.wordsep_re`
//! splits them: after a hyphen between letters (`state-` `of-` `the-art`)
//! and before and after an em-dash (`--`) that joins two words.

/// `text` cut into chunks that concatenate back to it.
pub(super) fn chunks(text: &str, break_on_hyphens: bool) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut p = 0;
    while p < chars.len() {
        let end = match (is_space(chars[p]), break_on_hyphens) {
            (true, _) => run_end(&chars, p, is_space),
            (false, false) => run_end(&chars, p, |c| !is_space(c)),
            (false, true) => em_dash_end(&chars, p).unwrap_or_else(|| word_end(&chars, p)),
        };
        out.push(chars[p..end].iter().collect());
        p = end;
    }
    out
}

/// Where the run of characters `within` that starts at `p` ends.
fn run_end(chars: &[char], p: usize, within: impl Fn(char) -> bool) -> usize {
    chars[p..]
        .iter()
        .position(|&c| !within(c))
        .map_or(chars.len(), |n| p + n)
}

/// The end of an em-dash at `p`: two hyphens or more after word punctuation
/// and before a word character.
fn em_dash_end(chars: &[char], p: usize) -> Option<usize> {
    let after_word = p > 0 && is_word_punct(chars[p - 1]);
    after_word.then(|| dashes_before_word(chars, p)).flatten()
}

/// The end of two hyphens or more at `p` that a word character follows.
fn dashes_before_word(chars: &[char], p: usize) -> Option<usize> {
    let end = run_end(chars, p, |c| c == '-');
    let word_follows = chars.get(end).is_some_and(|&c| is_word(c));
    (end - p >= 2 && word_follows).then_some(end)
}

/// The end of the word chunk at `p` (the shortest that ends a word): after
/// a hyphen that splits letters, before whitespace or the text's end, or
/// before an em-dash.
fn word_end(chars: &[char], p: usize) -> usize {
    let letter = |i: usize| chars.get(i).is_some_and(|&c| is_letter(c));
    let at = |i: usize, c: char| chars.get(i) == Some(&c);
    let mut e = p + 1;
    loop {
        let letters_before = (e >= 2 && letter(e - 2) && letter(e - 1))
            || (e >= 3 && letter(e - 3) && at(e - 2, '-') && letter(e - 1));
        let letters_after = letter(e + 1) && (letter(e + 2) || (at(e + 2, '-') && letter(e + 3)));
        if at(e, '-') && letters_before && letters_after {
            return e + 1;
        }
        if e == chars.len() || is_space(chars[e]) {
            return e;
        }
        if is_word_punct(chars[e - 1]) && dashes_before_word(chars, e).is_some() {
            return e;
        }
        e += 1;
    }
}

/// `textwrap`'s whitespace: `\t\n\x0b\x0c\r` and space.
fn is_space(c: char) -> bool {
    "\t\n\x0b\x0c\r ".contains(c)
}

/// Python's `\w`: letters, digits and `_`.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `wordsep_re`'s letter, `[^\d\W]`: a word character but a decimal digit.
fn is_letter(c: char) -> bool {
    is_word(c) && !(c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric()))
}

/// `wordsep_re`'s word punctuation, `[\w!"'&.,?]`.
fn is_word_punct(c: char) -> bool {
    is_word(c) || "!\"'&.,?".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyphens_between_letters_and_em_dashes_split_words() {
        let cut = |t: &str| chunks(t, true);
        assert_eq!(cut("state-of-the-art"), ["state-", "of-", "the-", "art"]);
        assert_eq!(cut("a-b-c x--y"), ["a-b-c", " ", "x", "--", "y"]);
        assert_eq!(cut("12-34 --cd"), ["12-34", " ", "--cd"]);
        assert_eq!(chunks("state-of  x", false), ["state-of", "  ", "x"]);
    }
}
