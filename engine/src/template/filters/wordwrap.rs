//! Jinja2's `wordwrap`, which is Python's `textwrap.wrap` on each line
//! (tabs and whitespace kept as written): the same chunks (words split
//! after a hyphen between letters, em-dashes apart) fill each line, so a
//! config wrapped by Ansible wraps here at the same places.

use minijinja::value::Kwargs;
use minijinja::{Environment, Error};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("wordwrap", wordwrap);
}

/// `s | wordwrap(width=79, break_long_words=True, wrapstring='\n',
/// break_on_hyphens=True)`: each line of `s` wrapped to `width`, the
/// wrapped lines and the paragraphs joined by `wrapstring`.
pub(super) fn wordwrap(
    s: &str,
    width: Option<usize>,
    break_long_words: Option<bool>,
    wrapstring: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let options = Options {
        width: kwargs
            .get::<Option<usize>>("width")?
            .or(width)
            .unwrap_or(79),
        break_long_words: kwargs
            .get::<Option<bool>>("break_long_words")?
            .or(break_long_words)
            .unwrap_or(true),
        break_on_hyphens: kwargs
            .get::<Option<bool>>("break_on_hyphens")?
            .unwrap_or(true),
    };
    let wrapstring = kwargs
        .get::<Option<String>>("wrapstring")?
        .or(wrapstring)
        .unwrap_or("\n".into());
    kwargs.assert_all_used()?;
    if options.width == 0 {
        return Err(invalid("wordwrap: invalid width 0 (must be > 0)"));
    }
    let paragraphs: Vec<String> = super::indent::splitlines(s)
        .into_iter()
        .map(|line| wrap(line, options).join(&wrapstring))
        .collect();
    Ok(paragraphs.join(&wrapstring))
}

/// The `textwrap.TextWrapper` settings Jinja2 passes on.
#[derive(Debug, Clone, Copy)]
struct Options {
    width: usize,
    break_long_words: bool,
    break_on_hyphens: bool,
}

/// `textwrap.TextWrapper._wrap_chunks`: lines filled with whole chunks,
/// whitespace dropped at the ends of lines (but for the text's very
/// start), a chunk longer than a line broken (at its last hyphen that
/// fits, with `break_on_hyphens`) or, without `break_long_words`, put alone.
fn wrap(text: &str, options: Options) -> Vec<String> {
    let width = options.width;
    let mut chunks: Vec<String> = super::wordwrap_chunks::chunks(text, options.break_on_hyphens);
    chunks.reverse();
    let mut lines = Vec::new();
    while !chunks.is_empty() {
        if !lines.is_empty() && is_blank(chunks.last().unwrap()) {
            chunks.pop();
        }
        let mut line: Vec<String> = Vec::new();
        let mut len = 0;
        while let Some(chunk) = chunks.last() {
            let l = chunk.chars().count();
            if len + l > width {
                break;
            }
            len += l;
            line.push(chunks.pop().unwrap());
        }
        if chunks.last().is_some_and(|c| c.chars().count() > width) {
            long_word(&mut chunks, &mut line, width - len, options);
        }
        if line.last().is_some_and(|c| is_blank(c)) {
            line.pop();
        }
        if !line.is_empty() {
            lines.push(line.concat());
        }
    }
    lines
}

/// `TextWrapper._handle_long_word`: the head of the too-long chunk that
/// fits in `space_left` moves onto `line`.
fn long_word(
    chunks: &mut Vec<String>,
    line: &mut Vec<String>,
    space_left: usize,
    options: Options,
) {
    if !options.break_long_words {
        if line.is_empty() {
            line.push(chunks.pop().unwrap());
        }
        return;
    }
    let chunk: Vec<char> = chunks.pop().unwrap().chars().collect();
    let mut end = space_left.min(chunk.len());
    if options.break_on_hyphens && chunk.len() > space_left {
        let hyphen = chunk[..space_left].iter().rposition(|&c| c == '-');
        if let Some(h) = hyphen.filter(|&h| h > 0 && chunk[..h].iter().any(|&c| c != '-')) {
            end = h + 1;
        }
    }
    line.push(chunk[..end].iter().collect());
    chunks.push(chunk[end..].iter().collect());
}

/// Python's `chunk.strip() == ''`.
fn is_blank(chunk: &str) -> bool {
    chunk.chars().all(super::jinja_markup::is_python_space)
}
