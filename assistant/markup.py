"""Digest text as a person reads it: the LaTeX that digests copy from arXiv abstracts, rendered.

Abstracts arrive as their authors typed them for LaTeX: `2--4$\\times$`, ``{\\em pre-unlearning}``,
````quoted''``, `$O(n^{-\\frac{2}{2+d_K}})$`, `99.0\\%`. pylatexenc's `LatexNodes2Text` (a maintained
LaTeX parser) turns them into plain Unicode text; this module only decides what is LaTeX in text
that is mostly not (a bare `%` is a percent sign here, not a comment; `~50x` means "about 50x", while
`Operator~(\\ours)` is LaTeX's non-breaking space) and how a formula reads in one line:
`n^(-(2+d_K)/(2+2d_K))`, `log(1/ε)`, plain letters for `\\mathcal{O}` and `\\mathbf{W}`.

Numbers are never changed, and rendering rendered text changes nothing, so a number check reads the
same numbers from the raw or the rendered form (`evidence.numbers_in` renders first).
"""
from __future__ import annotations

import logging
import re
from functools import lru_cache

from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db
from pylatexenc.latexwalker import LatexWalker
from pylatexenc.latexwalker import get_default_latex_context_db as walker_db
from pylatexenc.macrospec import MacroSpec

# Anything that may be LaTeX; text without it is only whitespace-folded (most summaries, many abstracts).
_MAYBE_LATEX = re.compile(r"[\\$`{}~^]|--|''")
_URL = re.compile(r"https?://[^\s<>\"'{}]+[^\s<>\"'{}.,;:)\]]")
# A tilde before a number, after a space or an opening mark, means "about" ("~50x larger", "(~1 hour)");
# between two numbers it is a range ("1.08~3.80x").
_APPROX_TILDE = re.compile(r"(?:(?<=^)|(?<=[\s(\[])|(?<=\d)|(?<=\d[%x×]))~(?=\s?\d)")
_UNESCAPED = re.compile(r"(?<!\\)([%&#])")  # a percent sign, not a comment; '&' and '#' as written
_MATH = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$(.+?)(?<!\\)\$", re.S)
# "\\boldsymbolμ", "\\sqrtβ": a command glued to a non-ASCII letter would be read as one longer name.
_GLUED_MACRO = re.compile(r"\\([A-Za-z]+)(?=[^\x00-\x7f])")
_MAX_MATH = 400  # characters between two dollars; a longer span is two stray dollars, not a formula
# Private-use characters hold what must pass pylatexenc untouched (restored after rendering).
_HOLD = "\ue000"
_TILDE = "\ue001"
# Script letters read as the letter: "O(log(1/ε))" reads better than "𝒪(log(1/ϵ))"; so do bold and
# sans-serif symbols. Blackboard bold (ℝ, ℕ) stays: it names a set.
_PLAIN_ALPHABETS = ("mathcal", "mathscr", "mathfrak", "mathbf", "mathit", "mathsf", "mathrm", "mathtt",
                    "boldsymbol", "bm", "textsf", "textup", "textnormal", "operatorname", "mathnormal")
_OPERATORS = ("log", "ln", "exp", "sin", "cos", "tan", "tanh", "max", "min", "sup", "inf", "arg", "det", "lim")


def _fraction(node, l2tobj) -> str:
    """'\\frac{a}{b}' -> 'a/b', with parentheses around a side that is more than one token."""
    args = node.nodeargd.argnlist if node.nodeargd and node.nodeargd.argnlist else []
    sides = [_wrap(l2tobj.nodelist_to_text([a]).strip()) if a is not None else "" for a in args[:2]]
    return "/".join(sides) if len(sides) == 2 else "".join(sides)


def _wrap(text: str) -> str:
    return f"({text})" if re.search(r"[\s+\-−/·×]", text) and not re.fullmatch(r"\(.*\)", text) else text


def _macros() -> list[MacroTextSpec]:
    specs = [MacroTextSpec(name, simplify_repl=_fraction) for name in ("frac", "tfrac", "dfrac", "cfrac", "nicefrac")]
    specs += [MacroTextSpec(name, simplify_repl="%s") for name in _PLAIN_ALPHABETS]
    specs += [MacroTextSpec(name, simplify_repl=f" {name} ") for name in _OPERATORS]  # "log 1/ε", not "log1/ε"
    specs += [MacroTextSpec("widetilde", simplify_repl="%s"), MacroTextSpec("widehat", simplify_repl="%s")]
    # The forms the Chinese summaries and people type: "~5" for about 5, ε rather than the lunate ϵ.
    specs += [MacroTextSpec("sim", simplify_repl="~"), MacroTextSpec("epsilon", simplify_repl="ε")]
    return specs


# Commands pylatexenc has no text for that only format or size what follows: dropped, as it drops them.
_FORMATTING = frozenset("""em bf it rm sf tt sc sl up md normalfont left right middle big Big bigg Bigg bigl bigr Bigl
Bigr biggl biggr Biggl Biggr bigm Bigm displaystyle textstyle scriptstyle scriptscriptstyle limits nolimits
centering noindent small large Large LARGE huge Huge tiny scriptsize footnotesize normalsize relax
nonumber notag protect""".split())


class _Renderer(LatexNodes2Text):
    """LatexNodes2Text that shows an unknown command by its arguments, or by its name when it has
    none (`\\ours` -> 'ours': a paper's own macro usually names its method) instead of dropping it."""

    def macro_node_to_text(self, node):
        if self.latex_context.get_macro_spec(node.macroname) is None:
            args = [a for a in (node.nodeargd.argnlist if node.nodeargd and node.nodeargd.argnlist else []) if a]
            if args:
                return "".join(self._groupnodecontents_to_text(a) for a in args)
            # "\\ours achieves": the space after the name separates words, as it did in the source.
            return "" if node.macroname in _FORMATTING else node.macroname + (node.macro_post_space and " ")
        return super().macro_node_to_text(node)

    def math_node_to_text(self, node):
        return _tidy_math(super().math_node_to_text(node))


_RELATION = re.compile(r"\s*([≈≤≥≪≫≠∈∉⊂⊆→←↔⇒=<>])\s*")
_OPERATOR_SPACE = re.compile(r"\b(" + "|".join(_OPERATORS) + r") (?=[(^_])")


def _tidy_math(text: str) -> str:
    """A rendered formula spaced as it is read: 'ρ ≈ 0.01', 'k → ∞', 'tanh(β sin(ω_0 x))', 'O(log T)'."""
    text = _RELATION.sub(r" \1 ", " ".join(text.split()))
    text = re.sub(r"(?<=[^\s(,])\s*·\s*(?=[^\s,)])", " · ", text)  # a product, not the '·' placeholder of K(·,x)
    text = re.sub(r"\(\s+", "(", re.sub(r"\s+([),\]])", r"\1", text))
    return _OPERATOR_SPACE.sub(r"\1", text).strip()


def _context():
    db = get_default_latex_context_db()
    db.add_context_category("digestqa", macros=_macros(), prepend=True)
    walker = walker_db()
    # The parser must know that these take an argument: '\\tfrac{1}{2}' is a fraction, not '12'.
    walker.add_context_category("digestqa", prepend=True, macros=[
        MacroSpec(name, "{{") for name in ("tfrac", "dfrac", "cfrac", "nicefrac")] + [
        MacroSpec(name, "{") for name in (*_PLAIN_ALPHABETS, "widetilde", "widehat")])
    return db, walker


_TEXT_DB, _WALKER_DB = _context()
_RENDERER = _Renderer(latex_context=_TEXT_DB, math_mode="text", strict_latex_spaces=False)
logging.getLogger("pylatexenc").setLevel(logging.ERROR)  # tolerant parsing of stray braces is not news


def readable(text: str) -> str:
    """`text` with its LaTeX rendered as plain Unicode text and whitespace folded."""
    if not text:
        return ""
    if not _MAYBE_LATEX.search(text):
        return " ".join(text.split())
    # Sentence by sentence: only the ones with markup go through pylatexenc (~20 ms an abstract), and
    # each is cached, so a paper's text joined with others (the citation check's) reuses them.
    return " ".join(_render(piece) if _MAYBE_LATEX.search(piece) else " ".join(piece.split())
                    for piece in _pieces(text) if piece.strip())


_BREAK = re.compile(r"\n|(?<=[.!?;。；])\s+")


def _pieces(text: str) -> list[str]:
    """`text` cut at line ends and sentence ends that lie outside any formula or group."""
    pieces, start, dollars, depth, scanned = [], 0, 0, 0, 0
    for match in _BREAK.finditer(text):
        segment = text[scanned:match.start()]
        dollars += len(re.findall(r"(?<!\\)\$", segment))
        depth += len(re.findall(r"(?<!\\)\{", segment)) - len(re.findall(r"(?<!\\)\}", segment))
        scanned = match.start()
        if dollars % 2 == 0 and depth <= 0:
            pieces.append(text[start:match.start()])
            start = match.end()
    pieces.append(text[start:])
    return pieces


@lru_cache(maxsize=8192)
def _render(text: str) -> str:
    held: list[str] = []

    def hold(value: str) -> str:
        held.append(value)
        return f"{_HOLD}{len(held) - 1}{_HOLD}"

    source = _URL.sub(lambda m: hold(m.group(0)), text)
    source = _APPROX_TILDE.sub(_TILDE, source)
    source = _UNESCAPED.sub(r"\\\1", source)
    source = _GLUED_MACRO.sub(r"\\\1 ", source)
    source = _formulas(source)
    try:
        nodes = LatexWalker(source, latex_context=_WALKER_DB, tolerant_parsing=True).get_latex_nodes()[0]
        rendered = _RENDERER.nodelist_to_text(nodes)
    except Exception:  # pylatexenc is tolerant; should it still fail, the reader gets the text as typed
        rendered = text
        held.clear()
    rendered = rendered.replace("\u00a0", " ").replace(_TILDE, "~")
    rendered = re.sub(f"{_HOLD}(\\d+){_HOLD}", lambda m: held[int(m.group(1))], rendered)
    return " ".join(rendered.split())


_STRAY_DOLLAR = re.compile(r"(?<!\\)\$")


def _formulas(text: str) -> str:
    """Each `$…$` formula prepared by `_math`; a dollar outside any pair is a dollar sign."""
    out, last = [], 0
    for match in _MATH.finditer(text):
        out += [_literal_braces(_STRAY_DOLLAR.sub(r"\\$", text[last:match.start()])), _math(match)]
        last = match.end()
    out.append(_literal_braces(_STRAY_DOLLAR.sub(r"\\$", text[last:])))
    return _scripts("".join(out))  # "e^{-\\sqrt{β}t}" is written outside dollars too


_ARGUMENT_BEFORE = re.compile(r"(?:\\[A-Za-z]+\*?|[\^_}\]])\s*$")


def _literal_braces(text: str) -> str:
    """Braces in prose that group nothing for LaTeX ("weights to {-1, 0, +1}", or text already
    rendered) are shown as written; a command's argument (\\emph{x}, ^{2}) and a group that starts
    with a command ({\\em x}) are LaTeX."""
    out: list[str] = []
    stack: list[bool] = []  # per open brace: True when it is LaTeX's
    for index, char in enumerate(text):
        escaped = index > 0 and text[index - 1] == "\\"
        if char == "{" and not escaped:
            latex = bool(_ARGUMENT_BEFORE.search(text[max(0, index - 40):index])) or text[index + 1:index + 2] == "\\"
            stack.append(latex)
            out.append("{" if latex else "\\{")
        elif char == "}" and not escaped:
            latex = stack.pop() if stack else False
            out.append("}" if latex else "\\}")
        else:
            out.append(char)
    return "".join(out)


def _math(match: re.Match) -> str:
    """One formula, prepared for pylatexenc: sub- and superscripts of more than one token are put in
    parentheses ('n^{-\\frac{a}{b}}' -> 'n^(-a/b)'), braces around one token are dropped ('x_{i}' ->
    'x_i'). A pair of dollars around prose is two currency signs, not a formula."""
    body = match.group(1) if match.group(1) is not None else match.group(2)
    if len(body) > _MAX_MATH or _is_prose(body):
        return match.group(0).replace("$", "\\$")
    return "$" + body + "$"


def _is_prose(body: str) -> bool:
    return "\\" not in body and not re.search(r"[\^_=<>]", body) and len(re.findall(r"[A-Za-z]{3,}", body)) >= 3


def _scripts(body: str) -> str:
    out, i = [], 0
    while i < len(body):
        char = body[i]
        if char in "^_" and i + 1 < len(body) and body[i + 1] == "{":
            end = _closing_brace(body, i + 1)
            if end is None:
                out.append(body[i:])
                break
            inner = _scripts(body[i + 2:end])
            # One name or number ('x_{ij}', '2^{10}', 'd_{\\rho}') needs no parentheses; '-3' or 'a+b' does.
            simple = re.fullmatch(r"\s*(?:[A-Za-z0-9]+|\\[A-Za-z]+)\s*", inner)
            out.append(f"{char}{{{inner}}}" if simple else f"{char}({inner})")
            i = end + 1
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _closing_brace(text: str, start: int) -> int | None:
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "{" and (index == 0 or text[index - 1] != "\\"):
            depth += 1
        elif text[index] == "}" and text[index - 1] != "\\":
            depth -= 1
            if depth == 0:
                return index
    return None


# Left in rendered text, any of these means markup got through to the reader (tests scan for them).
LEFTOVER_MARKUP = re.compile(r"\\[A-Za-z]+|--|``|''|\{\\em\b|\$(?!\d)")  # "$0.04" is money
