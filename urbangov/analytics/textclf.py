"""Text classification for residents' requests: which category a text is about.

Chinese and English texts, trained from labelled examples. What it does:

- **Features**: TF-IDF over character 1–3-grams of the whole text (title and body), a second
  block over the title's character n-grams (a title says in a few words what the body
  circles around), and a block of words: Latin words, and Chinese dictionary words found in
  the text (see *words* below). Each block is normalised on its own and weighted.
- **Model**: a linear SVM (liblinear, one-vs-rest) with classes weighted by their inverse
  frequency, so that a rare category is not drowned by the common ones.
- **Calibrated probabilities**: the SVM's scores go through a softmax whose temperature is
  fitted on out-of-fold scores of the training set (grouped by identical text), so that
  "0.9" means right about nine times in ten.
- **Explanations**: the features that drove a prediction (their TF-IDF value times the
  class's weight), readable as the character n-grams and words they are.
- **Serialisation** to bytes with a magic line, a format version and a SHA-256 of the body;
  a corrupt or foreign file is refused with :class:`ModelFormatError`. The body is a NumPy
  archive read without pickle, so loading a model file cannot run code.

Why not scikit-learn's ``TfidfVectorizer``: its analyzers run in Python per character (about
1,400 messages/s here), and its default word tokenizer takes a whole Chinese clause for one
token. The vectorizer here packs each character 1–3-gram of a batch into one 64-bit key with
NumPy (code points fit in 21 bits) and looks the keys up in an open-addressing hash table,
so a batch is vectorised without a Python loop per character. It gives the same matrix as
``TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)`` (tested).

Words: segmenting with jieba costs about 1 ms per message, far over the budget of 5,000
predictions a second, so the word block does not segment. It keeps every 2–4-character
substring that is a word of a lexicon given at training time (the caller passes jieba's
dictionary) — a bag of dictionary words, overlapping where words overlap. The lexicon is
only needed to train: the fitted vocabulary holds the words seen, and prediction looks
substrings up in it. What each block adds was measured (``docs/dispatch.md``).

Pure: no Django, no I/O; arrays and strings in, dataclasses out.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

FORMAT = 1
MAGIC = b"URBANGOV-TEXTCLF\n"

_U64 = np.uint64
_MASK64 = (1 << 64) - 1
_FIB = _U64(0x9E3779B97F4A7C15)  # Knuth's multiplicative hash constant (2^64 / φ)
_POLY = _U64(0x100000001B3)  # FNV prime: the rolling hash of word keys
_BITS = 21  # every Unicode code point fits in 21 bits
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_LATIN_WORD = re.compile(r"[a-z\u00e0-\u024f][a-z\u00e0-\u024f'’]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_FULL_WIDTH = {chr(0xFF01 + i): chr(0x21 + i) for i in range(0x5E)} | {"\u3000": " "}
_FULL_WIDTH_CHAR = re.compile("[\uff01-\uff5e\u3000]")


class TextError(ValueError):
    """An input text the classifier cannot take (empty, too long); ``index`` is its row."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


class ModelFormatError(ValueError):
    """Bytes that are not a model this version can read (corrupt, foreign, other format)."""


@dataclass(frozen=True)
class Config:
    """How a classifier is built. The defaults are what measurement supported
    (``docs/dispatch.md``); each part can be switched off to measure it again."""

    char_ngrams: tuple[int, int] = (1, 3)
    # Weight of the title's own character n-gram block; 0 switches it off.
    title_weight: float = 0.5
    # Weight of the dictionary-word block; 0 switches it off.
    word_weight: float = 1.0
    word_lengths: tuple[int, int] = (2, 4)
    min_df: int = 2
    sublinear_tf: bool = True
    class_balance: bool = True
    c: float = 1.0
    # Folds for the out-of-fold scores the temperature is fitted on; 0: no calibration.
    # From ``calibration_one_fold_from`` examples on, one fold is scored (a fit less costly
    # by half; one parameter needs no more than that many scores).
    calibration_folds: int = 3
    calibration_one_fold_from: int = 3000
    # Longest text taken, in characters (title and body each).
    max_chars: int = 100_000
    seed: int = 0

    def __post_init__(self) -> None:
        lo, hi = self.char_ngrams
        if not 1 <= lo <= hi <= 3:
            raise ValueError("char_ngrams must lie within 1..3 (they are packed into 64 bits)")
        wlo, whi = self.word_lengths
        if not 2 <= wlo <= whi <= 8:
            raise ValueError("word_lengths must lie within 2..8")
        if self.title_weight < 0 or self.word_weight < 0:
            raise ValueError("block weights must not be negative")
        if self.min_df < 1 or self.c <= 0 or self.max_chars < 1:
            raise ValueError("min_df and max_chars must be at least 1 and c positive")
        if self.calibration_folds == 1 or self.calibration_folds < 0:
            raise ValueError("calibration_folds is 0 (off) or at least 2")


# --- text to code points -----------------------------------------------------------------------


def normalise(text: str) -> str:
    """The form every text is read in: NFKC (full-width letters and digits become ASCII),
    lower case, control characters dropped, runs of white space made one space."""
    # Full-width ASCII (，：（）１２ａｂ) is most of what NFKC changes in Chinese text; mapped
    # by a table first, most texts then pass NFKC's quick check and skip the full pass.
    # Replaced match by match: a text holds a few full-width marks among hundreds of
    # characters, and this costs half of ``str.translate`` over every character.
    text = _nfkc(_FULL_WIDTH_CHAR.sub(lambda m: _FULL_WIDTH[m.group()], text))
    return _SPACE.sub(" ", _CONTROL.sub(" ", text.lower())).strip()


def _nfkc(text: str) -> str:
    """NFKC, with the full pass only over the texts that need it where several are joined
    (:func:`normalise_all`): one text in a dozen holds a no-break space or an ellipsis, and
    one such text among a few dozen made the whole of them pay for it."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    if _JOIN not in text:
        return unicodedata.normalize("NFKC", text)
    # The same result: the joining character is a starter that nothing composes with.
    return _JOIN.join(
        part if unicodedata.is_normalized("NFKC", part) else unicodedata.normalize("NFKC", part)
        for part in text.split(_JOIN)
    )


# Joins texts for :func:`normalise_all`: a private-use character, which NFKC, lower case and
# the control and space patterns all leave alone and which no composition crosses.
_JOIN = "\ue000"


def normalise_all(texts: Sequence[str]) -> list[str]:
    """:func:`normalise` of every text, done on all of them joined: the same result, without
    paying the regular expressions' and NFKC's call overhead once per text."""
    if len(texts) < 2:
        return [normalise(t) for t in texts]
    joined = _JOIN.join(texts)
    if joined.count(_JOIN) != len(texts) - 1:  # a text holds the joining character itself
        return [normalise(t) for t in texts]
    return [part.strip() for part in normalise(joined).split(_JOIN)]


def _codes(texts: Sequence[str]) -> tuple[NDArray[np.uint64], NDArray[np.bool_], NDArray[np.int64]]:
    """The code points of all texts end to end, separated by 0; which positions are
    separators; and the row each position belongs to."""
    joined = "\x00".join(texts)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    sep = codes == 0
    return codes, sep, np.cumsum(sep, dtype=np.int64)


def _char_keys(
    texts: Sequence[str], lo: int, hi: int
) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """Every character n-gram (lo ≤ n ≤ hi ≤ 3) of every text as a 64-bit key (its code
    points packed 21 bits each, so that no two n-grams share a key), with its row."""
    codes, sep, rows = _codes(texts)
    keys: list[NDArray[np.uint64]] = []
    where: list[NDArray[np.int64]] = []
    # The n-grams of each length from those one shorter: one shift and one "or" per length.
    k, bad = codes, sep
    for n in range(1, hi + 1):
        m = len(codes) - n + 1
        if m <= 0:
            break
        if n > 1:
            k = (k[:m] << _U64(_BITS)) | codes[n - 1 :]
            bad = bad[:m] | sep[n - 1 :]
        if n >= lo:
            ok = ~bad
            keys.append(k[ok])
            where.append(rows[:m][ok])
    if not keys:
        return np.empty(0, _U64), np.empty(0, np.int64)
    return np.concatenate(keys), np.concatenate(where)


def _char_name(key: int) -> str:
    chars = []
    while key:
        chars.append(chr(key & ((1 << _BITS) - 1)))
        key >>= _BITS
    return "".join(reversed(chars))


def word_key(word: str) -> int:
    """The 64-bit key of a word: a polynomial rolling hash of its code points."""
    h = 0
    for ch in word:
        h = (h * int(_POLY) + ord(ch)) & _MASK64
    return h


def _substring_keys(
    texts: Sequence[str], lo: int, hi: int
) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """The rolling-hash key (as :func:`word_key`) of every substring of lo..hi characters
    made only of Chinese characters, with its row."""
    codes, sep, rows = _codes(texts)
    cjk = ((codes >= 0x3400) & (codes <= 0x9FFF)) | ((codes >= 0xF900) & (codes <= 0xFAFF))
    keys: list[NDArray[np.uint64]] = []
    where: list[NDArray[np.int64]] = []
    # Each length's hashes from those one shorter (the hash is a polynomial rolling hash).
    k, bad = codes, sep | ~cjk
    with np.errstate(over="ignore"):
        for n in range(1, hi + 1):
            m = len(codes) - n + 1
            if m <= 0:
                break
            if n > 1:
                k = k[:m] * _POLY + codes[n - 1 :]
                bad = bad[:m] | sep[n - 1 :] | ~cjk[n - 1 :]
            if n >= lo:
                ok = ~bad
                keys.append(k[ok])
                where.append(rows[:m][ok])
    if not keys:
        return np.empty(0, _U64), np.empty(0, np.int64)
    return np.concatenate(keys), np.concatenate(where)


def _latin_words(texts: Sequence[str]) -> tuple[list[str], NDArray[np.uint64], NDArray[np.int64]]:
    words: list[str] = []
    rows: list[int] = []
    for i, text in enumerate(texts):
        found = _LATIN_WORD.findall(text)
        words.extend(found)
        rows.extend([i] * len(found))
    keys = np.fromiter((word_key(w) for w in words), dtype=_U64, count=len(words))
    return words, keys, np.asarray(rows, dtype=np.int64)


# --- a hash table of 64-bit keys -----------------------------------------------------------------


class _Table:
    """Open addressing (linear probing) from unique 64-bit keys to their positions, built
    and probed with whole arrays at a time."""

    def __init__(self, keys: NDArray[np.uint64]) -> None:
        self.bits = max(4, math.ceil(math.log2(max(1, len(keys)) * 4)))
        size = 1 << self.bits
        self.mask = size - 1
        # Key and position side by side: a probe reads one place in memory, not two.
        self.entries = np.zeros(size, dtype=[("key", _U64), ("value", np.int64)])
        self.keys = self.entries["key"]
        self.values = self.entries["value"]
        self.values[:] = -1
        pending = np.arange(len(keys), dtype=np.int64)
        slots = self._slot(keys)
        while len(pending):
            at = slots[pending]
            free = self.values[at] == -1
            taken_slots, first = np.unique(at[free], return_index=True)
            winners = pending[free][first]
            self.values[taken_slots] = winners
            self.keys[taken_slots] = keys[winners]
            placed = np.zeros(len(pending), dtype=bool)
            placed[np.flatnonzero(free)[first]] = True
            pending = pending[~placed]
            slots[pending] = (slots[pending] + 1) & self.mask

    def _slot(self, keys: NDArray[np.uint64]) -> NDArray[np.int64]:
        with np.errstate(over="ignore"):
            return ((keys * _FIB) >> _U64(64 - self.bits)).astype(np.int64)

    def get(self, keys: NDArray[np.uint64]) -> NDArray[np.int64]:
        """The position of each key, or -1 where it is not in the table."""
        slots = self._slot(keys)
        # The first probe settles almost every key (the table is at most a quarter full):
        # done on whole arrays, without index lists.
        found = self.entries[slots]
        values = found["value"]
        occupied = values >= 0
        match = occupied & (found["key"] == keys)
        out = np.where(match, values, -1)
        active = np.flatnonzero(occupied & ~match)
        slots[active] = (slots[active] + 1) & self.mask
        while len(active):
            found = self.entries[slots[active]]
            values = found["value"]
            occupied = values >= 0
            match = occupied & (found["key"] == keys[active])
            out[active[match]] = values[match]
            active = active[occupied & ~match]
            slots[active] = (slots[active] + 1) & self.mask
        return out


# --- feature blocks -------------------------------------------------------------------------------


@dataclass
class _Block:
    """One fitted feature block: which text it reads, its vocabulary and idf."""

    kind: str  # "char" or "word"
    source: str  # "all" (title and body) or "title"
    weight: float
    lo: int
    hi: int
    sublinear: bool
    keys: NDArray[np.uint64]
    idf: NDArray[np.float64]
    names: list[str] | None = None  # word blocks: the words, by column
    _table: _Table | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return len(self.keys)

    def table(self) -> _Table:
        if self._table is None:
            self._table = _Table(self.keys)
        return self._table

    def name(self, column: int) -> str:
        if self.names is not None:
            return self.names[column]
        return _char_name(int(self.keys[column]))

    def positions(self, texts: Sequence[str]) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
        if self.kind == "char":
            return _char_keys(texts, self.lo, self.hi)
        keys, rows = _substring_keys(texts, self.lo, self.hi)
        _words, latin, latin_rows = _latin_words(texts)
        return np.concatenate([keys, latin]), np.concatenate([rows, latin_rows])

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        keys, rows = self.positions(texts)
        cols = self.table().get(keys)
        hit = cols >= 0
        rows, cols = rows[hit], cols[hit].astype(np.int32)
        n = len(texts)
        if n == 1:
            # One text, as dispatch inside a request asks: its columns in order with their
            # counts from one sort of them (a long text's pairs took twice as long grouped
            # by row and then sorted and summed within it).
            columns, counts = np.unique(cols, return_counts=True)
            matrix = sp.csr_matrix(
                (counts.astype(np.float64), columns, np.array([0, len(columns)])),
                shape=(1, self.size),
            )
        else:
            # Grouped by row: the keys come as a few runs, each in text order (one per n-gram
            # length), which a stable sort merges in linear time. Then each (row, column) pair
            # once with its count, columns in order: scipy's per-row sort and sum, which costs
            # a third of one sort of all the pairs.
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
            matrix = sp.csr_matrix(
                (np.ones(len(cols)), cols[np.argsort(rows, kind="stable")], indptr),
                shape=(n, self.size),
            )
            matrix.sum_duplicates()
        data = matrix.data
        if self.sublinear:
            np.log(data, out=data)
            data += 1.0
        data *= self.idf[matrix.indices]
        _normalise_rows(matrix)
        if self.weight != 1.0:
            matrix.data *= self.weight
        return matrix


def _normalise_rows(matrix: sp.csr_matrix) -> None:
    """Scale every row to unit length in place (empty rows stay empty)."""
    counts = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(matrix.shape[0]), counts)
    norms = np.sqrt(np.bincount(rows, weights=matrix.data**2, minlength=matrix.shape[0]))
    norms[norms == 0] = 1.0
    matrix.data /= np.repeat(norms, counts)


def _document_frequencies(
    positions: Callable[[Sequence[str]], tuple[NDArray[np.uint64], NDArray[np.int64]]],
    texts: Sequence[str],
    chunk: int = 2000,
) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """Each distinct key of the texts with the number of texts it occurs in; in chunks of
    texts, so that memory stays bounded on a large corpus."""
    parts_keys: list[NDArray[np.uint64]] = []
    parts_counts: list[NDArray[np.int64]] = []
    for start in range(0, len(texts), chunk):
        keys, rows = positions(texts[start : start + chunk])
        if not len(keys):
            continue
        order = np.lexsort((rows, keys))
        keys, rows = keys[order], rows[order]
        first = np.ones(len(keys), dtype=bool)
        first[1:] = (keys[1:] != keys[:-1]) | (rows[1:] != rows[:-1])
        unique, counts = np.unique(keys[first], return_counts=True)
        parts_keys.append(unique)
        parts_counts.append(counts)
    if not parts_keys:
        return np.empty(0, _U64), np.empty(0, np.int64)
    keys = np.concatenate(parts_keys)
    counts = np.concatenate(parts_counts)
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, np.bincount(inverse, weights=counts, minlength=len(unique)).astype(np.int64)


def _fit_block(
    kind: str,
    source: str,
    weight: float,
    lo: int,
    hi: int,
    config: Config,
    texts: Sequence[str],
    lexicon: Mapping[int, str] | None = None,
) -> _Block:
    block = _Block(
        kind, source, weight, lo, hi, config.sublinear_tf, np.empty(0, _U64), np.empty(0)
    )
    keys, df = _document_frequencies(block.positions, texts)
    keep = df >= config.min_df
    names: list[str] | None = None
    if kind == "word":
        latin: dict[int, str] = {}
        for text in texts:
            for word in _LATIN_WORD.findall(text):
                latin.setdefault(word_key(word), word)
        known = dict(lexicon or {})
        known.update(latin)
        in_lexicon = np.fromiter((int(k) in known for k in keys), dtype=bool, count=len(keys))
        keep &= in_lexicon
        names = [known[int(k)] for k in keys[keep]]
    n = len(texts)
    block.keys = keys[keep]
    # Smoothed idf, as scikit-learn's: ln((1 + n) / (1 + df)) + 1.
    block.idf = np.log((1.0 + n) / (1.0 + df[keep])) + 1.0
    block.names = names
    return block


def lexicon_keys(words: Iterable[str], lengths: tuple[int, int] = (2, 4)) -> dict[int, str]:
    """A lexicon for the word block: each word of lo..hi characters with a Chinese character,
    by its key. Pass jieba's dictionary, or a city's own list of place and service words."""
    lo, hi = lengths
    out: dict[int, str] = {}
    for word in words:
        w = normalise(word)
        if lo <= len(w) <= hi and _CJK.search(w) and all(_CJK.match(ch) for ch in w):
            out.setdefault(word_key(w), w)
    return out


# --- the model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Feature:
    """One feature's part in a prediction: the n-gram or word, its block, its contribution."""

    text: str
    block: str
    weight: float


@dataclass(frozen=True)
class Prediction:
    label: str
    probability: float
    # The most probable labels, best first, with their probabilities.
    top: list[tuple[str, float]]
    # What pushed the text towards ``label`` most.
    features: list[Feature]


def _softmax(scores: NDArray[np.float64], temperature: float) -> NDArray[np.float64]:
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


@dataclass
class Model:
    """A trained classifier. Make one with :func:`fit`, or :meth:`from_bytes`."""

    config: Config
    classes: list[str]
    blocks: list[_Block]
    coef: NDArray[np.float32]  # classes × features
    intercept: NDArray[np.float64]
    temperature: float
    # What it was trained on: counts per class, and anything the caller adds.
    info: dict[str, Any] = field(default_factory=dict)
    _weights: NDArray[np.float32] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    # -- inputs ----------------------------------------------------------------------------

    def _inputs(self, titles: Sequence[str], texts: Sequence[str]) -> tuple[list[str], list[str]]:
        return _prepare(titles, texts, self.config.max_chars, allow_empty=True)

    def vectorise(self, titles: Sequence[str], texts: Sequence[str]) -> sp.csr_matrix:
        """The feature matrix of the texts (rows: texts), blocks side by side."""
        t, a = self._inputs(titles, texts)
        return self._matrix(t, a)

    def _matrix(self, titles: list[str], alls: list[str]) -> sp.csr_matrix:
        parts = self._parts(titles, alls)
        return sp.hstack(parts, format="csr") if len(parts) > 1 else parts[0]

    def _parts(self, titles: list[str], alls: list[str]) -> list[sp.csr_matrix]:
        """Each block's matrix (rows: texts)."""
        return [b.transform(titles if b.source == "title" else alls) for b in self.blocks]

    def parts(self, titles: Sequence[str], texts: Sequence[str]) -> list[sp.csr_matrix]:
        """Each block's matrix of the texts, for :meth:`explain` and
        :meth:`similarity_vectors` to share where both are wanted."""
        return self._parts(*self._inputs(titles, texts))

    def similarity_vectors(
        self,
        titles: Sequence[str],
        texts: Sequence[str],
        *,
        parts: list[sp.csr_matrix] | None = None,
    ) -> sp.csr_matrix:
        """Unit-length rows of the whole-text character block: their dot product is the
        cosine similarity of two texts, for near-duplicates and similar past cases.
        ``parts``: the texts' :meth:`parts`, where already made."""
        block = self.blocks[0]
        if parts is None:
            _t, a = self._inputs(titles, texts)
            matrix = block.transform(a)
        else:
            matrix = parts[0].copy()
        if block.weight not in (0.0, 1.0):
            matrix.data /= block.weight
        return matrix

    # -- predictions -------------------------------------------------------------------------

    def weights(self) -> NDArray[np.float32]:
        """The coefficients as the scoring product wants them, made once."""
        if self._weights is None:
            self._weights = np.ascontiguousarray(self.coef.T, dtype=np.float32)
        return self._weights

    def _block_scores(self, parts: list[sp.csr_matrix]) -> NDArray[np.float64]:
        """Scores, block by block against the block's rows of the weights: the product with
        the blocks side by side, without building that matrix (for one text, as dispatch
        inside a request asks, building it costs more than the product)."""
        weights = self.weights()
        total = np.zeros((parts[0].shape[0], len(self.classes)))
        start = 0
        for part in parts:
            stop = start + part.shape[1]
            total += part.astype(np.float32) @ weights[start:stop]
            start = stop
        return total + self.intercept

    def scores(self, titles: Sequence[str], texts: Sequence[str]) -> NDArray[np.float64]:
        return self._block_scores(self.parts(titles, texts))

    def predict_proba(self, titles: Sequence[str], texts: Sequence[str]) -> NDArray[np.float64]:
        return _softmax(self.scores(titles, texts), self.temperature)

    def predict(self, titles: Sequence[str], texts: Sequence[str]) -> list[str]:
        scores = self.scores(titles, texts)
        return [self.classes[i] for i in scores.argmax(axis=1)]

    def explain(
        self,
        titles: Sequence[str],
        texts: Sequence[str],
        *,
        top: int = 3,
        features: int = 5,
        evidence: NDArray[np.float64] | None = None,
        parts: list[sp.csr_matrix] | None = None,
    ) -> list[Prediction]:
        """For each text: the top labels with calibrated probabilities, and the features
        that pushed it towards the first.

        ``evidence`` (texts × classes), where given, is what is known besides the text, as
        the likelihood of that knowledge under each class: the probabilities are multiplied
        by it and normalised again (Bayes' rule). A class with evidence 0 is ruled out.
        ``parts``: the texts' :meth:`parts`, where already made.
        """
        if parts is None:
            parts = self.parts(titles, texts)
        proba = _softmax(self._block_scores(parts), self.temperature)
        if evidence is not None:
            if evidence.shape != proba.shape:
                raise ValueError(f"evidence of shape {evidence.shape} for {proba.shape}")
            weighted = proba * evidence
            sums = weighted.sum(axis=1, keepdims=True)
            proba = np.where(sums > 0, weighted / np.where(sums > 0, sums, 1.0), proba)
        offsets = np.cumsum([0] + [b.size for b in self.blocks])
        out: list[Prediction] = []
        for i in range(proba.shape[0]):
            order = np.argsort(-proba[i])[:top]
            best = int(order[0])
            found: list[Feature] = []
            if features:
                # Each block's features of the text, with what each added to the best class.
                blocks, cols, contribs = [], [], []
                for b, part in enumerate(parts):
                    lo, hi = part.indptr[i], part.indptr[i + 1]
                    local = part.indices[lo:hi]
                    blocks.append(np.full(hi - lo, b))
                    cols.append(local)
                    contribs.append(part.data[lo:hi] * self.coef[best, local + offsets[b]])
                found = self._features(
                    np.concatenate(blocks), np.concatenate(cols), np.concatenate(contribs), features
                )
            out.append(
                Prediction(
                    label=self.classes[best],
                    probability=float(proba[i, best]),
                    top=[(self.classes[int(k)], float(proba[i, k])) for k in order],
                    features=found,
                )
            )
        return out

    def _features(
        self,
        blocks: NDArray[np.int64],
        cols: NDArray[np.int32],
        contrib: NDArray[np.float64],
        wanted: int,
    ) -> list[Feature]:
        """The n-grams and words that pushed most towards the class, each counted once (its
        contributions from every block summed), leaving out single characters and
        fragments with spaces or punctuation, which mean little to a reader."""
        totals: dict[str, float] = {}
        kinds: dict[str, str] = {}
        order = np.argsort(-contrib)[: 10 * wanted]
        order = order[contrib[order] > 0]
        for b, col, value in zip(
            blocks[order].tolist(), cols[order].tolist(), contrib[order].tolist(), strict=True
        ):
            block = self.blocks[b]
            text = block.name(col)
            if len(text) < 2 or not all(ch.isalnum() for ch in text):
                continue
            totals[text] = totals.get(text, 0.0) + value
            kinds.setdefault(text, "title" if block.source == "title" else block.kind)
        ranked = sorted(totals.items(), key=lambda item: -item[1])[:wanted]
        return [Feature(text, kinds[text], weight) for text, weight in ranked]

    # -- bytes ------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The model as bytes: magic, a JSON header line (format, length, SHA-256), then a
        NumPy archive of arrays and a JSON description (no pickle anywhere)."""
        meta = {
            "config": asdict(self.config),
            "classes": self.classes,
            "temperature": self.temperature,
            "info": self.info,
            "blocks": [
                {
                    "kind": b.kind,
                    "source": b.source,
                    "weight": b.weight,
                    "lo": b.lo,
                    "hi": b.hi,
                    "sublinear": b.sublinear,
                    "names": b.names,
                }
                for b in self.blocks
            ],
        }
        arrays: dict[str, NDArray[Any]] = {
            "meta": np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8),
            "coef": self.coef.astype(np.float32),
            "intercept": self.intercept.astype(np.float64),
        }
        for i, b in enumerate(self.blocks):
            arrays[f"keys{i}"] = b.keys
            arrays[f"idf{i}"] = b.idf
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)  # type: ignore[arg-type]
        body = buffer.getvalue()
        head = json.dumps(
            {"format": FORMAT, "length": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        ).encode()
        return MAGIC + head + b"\n" + body

    @classmethod
    def from_bytes(cls, data: bytes) -> Model:
        """Read a model written by :meth:`to_bytes`; ModelFormatError says what is wrong."""
        body = _checked_body(data)
        try:
            archive = np.load(io.BytesIO(body), allow_pickle=False)
            meta = json.loads(bytes(archive["meta"]).decode())
            config = Config(
                **{
                    **meta["config"],
                    "char_ngrams": tuple(meta["config"]["char_ngrams"]),
                    "word_lengths": tuple(meta["config"]["word_lengths"]),
                }
            )
            blocks = [
                _Block(
                    kind=b["kind"],
                    source=b["source"],
                    weight=float(b["weight"]),
                    lo=int(b["lo"]),
                    hi=int(b["hi"]),
                    sublinear=bool(b["sublinear"]),
                    keys=np.asarray(archive[f"keys{i}"], dtype=_U64),
                    idf=np.asarray(archive[f"idf{i}"], dtype=np.float64),
                    names=b["names"],
                )
                for i, b in enumerate(meta["blocks"])
            ]
            model = cls(
                config=config,
                classes=[str(c) for c in meta["classes"]],
                blocks=blocks,
                coef=np.asarray(archive["coef"], dtype=np.float32),
                intercept=np.asarray(archive["intercept"], dtype=np.float64),
                temperature=float(meta["temperature"]),
                info=dict(meta.get("info") or {}),
            )
        except (KeyError, ValueError, TypeError, OSError, json.JSONDecodeError) as exc:
            raise ModelFormatError(f"the model's contents cannot be read: {exc}") from exc
        width = sum(b.size for b in model.blocks)
        if (
            model.coef.shape != (len(model.classes), width)
            or model.intercept.shape != (len(model.classes),)
            or any(len(b.idf) != b.size for b in model.blocks)
            or any(b.names is not None and len(b.names) != b.size for b in model.blocks)
            or not model.blocks
            or len(model.classes) < 2
            or not math.isfinite(model.temperature)
            or model.temperature <= 0
        ):
            raise ModelFormatError("the model's parts do not fit together")
        return model


def _checked_body(data: bytes) -> bytes:
    if not data.startswith(MAGIC):
        raise ModelFormatError(
            "not a urbangov text classifier (the file does not start with its mark)"
        )
    rest = data[len(MAGIC) :]
    end = rest.find(b"\n")
    if end < 0 or end > 1000:
        raise ModelFormatError("the model's header line is missing or broken")
    try:
        head = json.loads(rest[:end].decode())
        fmt, length, digest = int(head["format"]), int(head["length"]), str(head["sha256"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"the model's header cannot be read: {exc}") from exc
    if fmt != FORMAT:
        raise ModelFormatError(
            f"the model is in format {fmt}; this version of urbangov reads format {FORMAT}"
        )
    body = rest[end + 1 :]
    if len(body) != length:
        raise ModelFormatError(
            f"the model is truncated or padded: {len(body)} bytes where the header says {length}"
        )
    if hashlib.sha256(body).hexdigest() != digest:
        raise ModelFormatError("the model is corrupt: its SHA-256 does not match its header")
    return body


def artefact_sha256(data: bytes) -> str:
    """The SHA-256 of a serialised model as a whole (what a register records)."""
    return hashlib.sha256(data).hexdigest()


def _scores(
    matrix: sp.csr_matrix,
    coef: NDArray[np.float32],
    intercept: NDArray[np.float64],
    weights: NDArray[np.float32] | None = None,
) -> NDArray[np.float64]:
    """Scores of every row for every class. ``weights`` is ``coef`` transposed and laid out
    for the product (features × classes, C order, float32); made here when not given, which
    costs a copy of the whole matrix — models keep theirs."""
    if weights is None:
        weights = np.ascontiguousarray(coef.T, dtype=np.float32)
    product = matrix.astype(np.float32) @ weights
    return np.asarray(product, dtype=np.float64) + intercept


# --- training ---------------------------------------------------------------------------------


def _prepare(
    titles: Sequence[str], texts: Sequence[str], max_chars: int, *, allow_empty: bool
) -> tuple[list[str], list[str]]:
    if len(titles) != len(texts):
        raise ValueError(f"{len(titles)} titles for {len(texts)} texts")
    for i, (title, text) in enumerate(zip(titles, texts, strict=True)):
        if len(title) > max_chars or len(text) > max_chars:
            raise TextError(
                f"text {i} is {max(len(title), len(text)):,} characters long; "
                f"at most {max_chars:,} are taken",
                i,
            )
    out_titles = normalise_all(titles)
    out_all: list[str] = []
    for i, (t, body) in enumerate(zip(out_titles, normalise_all(texts), strict=True)):
        whole = f"{t} {body}".strip() if t and not body.startswith(t) else body or t
        if not whole and not allow_empty:
            raise TextError(f"text {i} is empty", i)
        out_all.append(whole)
    return out_titles, out_all


def text_groups(titles: Sequence[str], texts: Sequence[str]) -> NDArray[np.int64]:
    """A group number per text: texts identical once normalised share one (reposts)."""
    keys = [normalise(f"{t}\n{x}") for t, x in zip(titles, texts, strict=True)]
    _unique, inverse = np.unique(np.asarray(keys, dtype=object).astype(str), return_inverse=True)
    return inverse.astype(np.int64)


def grouped_folds(
    labels: Sequence[str], groups: NDArray[np.int64], k: int, seed: int = 0
) -> list[tuple[NDArray[np.int64], NDArray[np.int64]]]:
    """k folds, stratified by label as far as the groups allow; a group never straddles."""
    from sklearn.model_selection import StratifiedGroupKFold

    if k < 2:
        raise ValueError("at least 2 folds")
    if len(np.unique(groups)) < k:
        raise ValueError(f"{len(np.unique(groups))} distinct texts cannot make {k} folds")
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    y = np.asarray(labels, dtype=object).astype(str)
    import warnings

    with warnings.catch_warnings():
        # "The least populated class has only n members": folds are still grouped correctly.
        warnings.simplefilter("ignore", UserWarning)
        return [
            (np.asarray(tr, dtype=np.int64), np.asarray(te, dtype=np.int64))
            for tr, te in splitter.split(np.zeros(len(y)), y, groups)
        ]


def _svm(
    config: Config, matrix: sp.csr_matrix, y: NDArray[np.int64], n_classes: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    from sklearn.svm import LinearSVC

    present = np.unique(y)
    svm = LinearSVC(
        C=config.c,
        class_weight="balanced" if config.class_balance else None,
        random_state=config.seed,
        dual="auto",
        max_iter=5000,
    )
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        svm.fit(matrix, y)
    coef = np.full((n_classes, matrix.shape[1]), 0.0)
    intercept = np.full(n_classes, -1e3)  # a class absent from these rows never wins
    if len(present) == 2:
        # liblinear keeps one row for two classes: the score of the second.
        coef[present[1]] = svm.coef_[0]
        coef[present[0]] = -svm.coef_[0]
        intercept[present[1]] = svm.intercept_[0]
        intercept[present[0]] = -svm.intercept_[0]
    else:
        coef[present] = svm.coef_
        intercept[present] = svm.intercept_
    return coef, intercept


def fit_temperature(scores: NDArray[np.float64], y: NDArray[np.int64]) -> float:
    """The softmax temperature that minimises the log loss of ``scores`` against ``y``.

    The targets are smoothed by Laplace's rule (ε = 1/(n+2) spread over the other classes):
    n examples can show a model right about (n+1)/(n+2) of the time, never always. Without
    it, data the model separates perfectly drives the temperature to zero and every
    probability to exactly 1.
    """
    from scipy.optimize import minimize_scalar

    n, k = scores.shape
    eps = 1.0 / (n + 2)
    target = np.full((n, k), eps / max(1, k - 1))
    target[np.arange(n), y] = 1.0 - eps

    def loss(log_t: float) -> float:
        z = scores / math.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-np.mean((target * log_p).sum(axis=1)))

    found = minimize_scalar(loss, bounds=(math.log(1e-3), math.log(1e3)), method="bounded")
    return float(math.exp(found.x))


def fit(
    titles: Sequence[str],
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    config: Config | None = None,
    lexicon: Mapping[int, str] | None = None,
    info: Mapping[str, Any] | None = None,
) -> Model:
    """Train a classifier. ``titles`` may be empty strings; ``lexicon`` (from
    :func:`lexicon_keys`) feeds the word block, which without it holds Latin words only."""
    config = config or Config()
    if not len(texts):
        raise ValueError("no texts to learn from")
    if len(labels) != len(texts):
        raise ValueError(f"{len(labels)} labels for {len(texts)} texts")
    for i, label in enumerate(labels):
        if not isinstance(label, str) or not label.strip():
            raise TextError(f"text {i} has no label", i)
    t, a = _prepare(titles, texts, config.max_chars, allow_empty=False)
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ValueError("at least two different labels are needed to learn anything")
    index = {c: i for i, c in enumerate(classes)}
    y = np.fromiter((index[label] for label in labels), dtype=np.int64, count=len(labels))

    blocks = [_fit_block("char", "all", 1.0, *config.char_ngrams, config, a)]
    if config.title_weight > 0 and any(t):
        blocks.append(
            _fit_block("char", "title", config.title_weight, *config.char_ngrams, config, t)
        )
    if config.word_weight > 0:
        blocks.append(
            _fit_block("word", "all", config.word_weight, *config.word_lengths, config, a, lexicon)
        )
    blocks = [b for b in blocks if b.size > 0] or blocks[:1]
    partial = Model(
        config,
        classes,
        blocks,
        np.zeros((len(classes), 0), np.float32),
        np.zeros(len(classes)),
        1.0,
    )
    matrix = partial._matrix(t, a)
    coef, intercept = _svm(config, matrix, y, len(classes))

    temperature = 1.0
    calibrated = False
    counts = np.bincount(y, minlength=len(classes))
    k = config.calibration_folds
    groups = text_groups(titles, texts)
    if k and counts.min() >= 2 and len(np.unique(groups)) >= 5 * k:
        folds = grouped_folds(labels, groups, k, config.seed)
        if len(y) >= config.calibration_one_fold_from:
            folds = folds[:1]
        scored = np.concatenate([te for _tr, te in folds])
        oof = np.zeros((len(y), len(classes)))
        for tr, te in folds:
            fold_coef, fold_intercept = _svm(config, matrix[tr], y[tr], len(classes))
            oof[te] = _scores(matrix[te], fold_coef.astype(np.float32), fold_intercept)
        temperature = fit_temperature(oof[scored], y[scored])
        calibrated = True
    return Model(
        config=config,
        classes=classes,
        blocks=blocks,
        coef=coef.astype(np.float32),
        intercept=intercept,
        temperature=temperature,
        info={
            "n": len(labels),
            "counts": {c: int(n) for c, n in zip(classes, counts, strict=True)},
            "calibrated": calibrated,
            "features": {f"{b.source}:{b.kind}": b.size for b in blocks},
            **dict(info or {}),
        },
    )


# --- measuring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Scores:
    macro_f1: float
    accuracy: float
    per_class: dict[str, ClassScores]


def score(
    truth: Sequence[str], predicted: Sequence[str], classes: Sequence[str] | None = None
) -> Scores:
    """Precision, recall and F1 per class, their macro mean, and accuracy. A class that is
    never predicted has precision 0 (as scikit-learn's ``zero_division=0``)."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels for {len(predicted)} predictions")
    if not len(truth):
        raise ValueError("nothing to score")
    labels = sorted(set(classes or []) | set(truth))
    per_class: dict[str, ClassScores] = {}
    t = np.asarray(truth, dtype=object)
    p = np.asarray(predicted, dtype=object)
    for label in labels:
        tp = int(np.sum((t == label) & (p == label)))
        fp = int(np.sum((t != label) & (p == label)))
        fn = int(np.sum((t == label) & (p != label)))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = ClassScores(precision, recall, f1, tp + fn)
    present = [c for c in per_class.values() if c.support > 0]
    return Scores(
        macro_f1=float(np.mean([c.f1 for c in present])),
        accuracy=float(np.mean(t == p)),
        per_class=per_class,
    )


def calibration_error(
    probabilities: NDArray[np.float64], truth: NDArray[np.int64], bins: int = 15
) -> float:
    """Expected calibration error of the top probability, in ``bins`` equal-width bins."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == truth
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            error += in_bin.mean() * abs(confidence[in_bin].mean() - correct[in_bin].mean())
    return float(error)


@dataclass(frozen=True)
class Evaluation:
    scores: Scores
    n_train: int
    n_test: int
    train_seconds: float
    predict_per_second: float
    calibration_error: float
    folds: list[float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "macro_f1": round(self.scores.macro_f1, 4),
            "accuracy": round(self.scores.accuracy, 4),
            "n_train": self.n_train,
            "n_test": self.n_test,
            "per_class": {
                label: {
                    "precision": round(c.precision, 4),
                    "recall": round(c.recall, 4),
                    "f1": round(c.f1, 4),
                    "support": c.support,
                }
                for label, c in self.scores.per_class.items()
            },
            "train_seconds": round(self.train_seconds, 2),
            "predict_per_second": round(self.predict_per_second, 1),
            "calibration_error": round(self.calibration_error, 4),
            **({"fold_macro_f1": [round(f, 4) for f in self.folds]} if self.folds else {}),
        }


Trainer = Callable[[Sequence[str], Sequence[str], Sequence[str]], Model]


def evaluate_split(
    train: tuple[Sequence[str], Sequence[str], Sequence[str]],
    test: tuple[Sequence[str], Sequence[str], Sequence[str]],
    trainer: Trainer,
) -> Evaluation:
    """Train on ``train`` (titles, texts, labels), score on ``test``."""
    started = time.perf_counter()
    model = trainer(*train)
    trained = time.perf_counter() - started
    unknown = sorted(set(test[2]) - set(model.classes))
    if unknown:
        raise ValueError(
            "labels in the test set that the training set does not have: " + ", ".join(unknown[:10])
        )
    started = time.perf_counter()
    proba = model.predict_proba(test[0], test[1])
    took = time.perf_counter() - started
    predicted = [model.classes[i] for i in proba.argmax(axis=1)]
    index = {c: i for i, c in enumerate(model.classes)}
    truth = np.asarray([index[label] for label in test[2]], dtype=np.int64)
    return Evaluation(
        scores=score(test[2], predicted, model.classes),
        n_train=len(train[2]),
        n_test=len(test[2]),
        train_seconds=trained,
        predict_per_second=len(test[2]) / took if took > 0 else float("inf"),
        calibration_error=calibration_error(proba, truth),
        folds=[],
    )


def cross_validate(
    titles: Sequence[str],
    texts: Sequence[str],
    labels: Sequence[str],
    trainer: Trainer,
    k: int,
    seed: int = 0,
) -> Evaluation:
    """k-fold cross-validation grouped by identical text (reposts never sit on both sides of
    a fold). Scores are over the pooled out-of-fold predictions; ``train_seconds`` is the
    mean per fold; ``n_train`` the mean training-set size."""
    groups = text_groups(titles, texts)
    folds = grouped_folds(labels, groups, k, seed)
    predicted: list[str] = [""] * len(labels)
    proba_rows: list[NDArray[np.float64]] = []
    truth_rows: list[int] = []
    train_total = 0.0
    predict_total = 0.0
    fold_f1: list[float] = []
    classes = sorted(set(labels))
    index = {c: i for i, c in enumerate(classes)}
    for tr, te in folds:
        pick = lambda seq, idx: [seq[int(i)] for i in idx]  # noqa: E731
        started = time.perf_counter()
        model = trainer(pick(titles, tr), pick(texts, tr), pick(labels, tr))
        train_total += time.perf_counter() - started
        started = time.perf_counter()
        proba = model.predict_proba(pick(titles, te), pick(texts, te))
        predict_total += time.perf_counter() - started
        # Map the fold model's classes onto all classes (a rare class may miss a fold).
        full = np.zeros((len(te), len(classes)))
        for j, c in enumerate(model.classes):
            full[:, index[c]] = proba[:, j]
        fold_pred = [classes[int(j)] for j in full.argmax(axis=1)]
        for i, p in zip(te, fold_pred, strict=True):
            predicted[int(i)] = p
        proba_rows.append(full)
        truth_rows.extend(index[labels[int(i)]] for i in te)
        fold_f1.append(score(pick(labels, te), fold_pred, classes).macro_f1)
    proba_all = np.vstack(proba_rows)
    return Evaluation(
        scores=score(labels, predicted, classes),
        n_train=round(np.mean([len(tr) for tr, _ in folds])),
        n_test=len(labels),
        train_seconds=train_total / len(folds),
        predict_per_second=len(labels) / predict_total if predict_total > 0 else float("inf"),
        calibration_error=calibration_error(proba_all, np.asarray(truth_rows, dtype=np.int64)),
        folds=fold_f1,
    )


# --- similarity without a model -------------------------------------------------------------


def similarities_to_first(vectors: sp.csr_matrix) -> NDArray[np.float64]:
    """The dot product of each row after the first with the first: for unit-length rows
    (:meth:`Model.similarity_vectors`, :func:`plain_vectors`), their cosine similarity.

    Done on the arrays: scipy's product with the first row transposed builds an index as long
    as the vocabulary (hundreds of thousands of columns) for a handful of rows."""
    indptr, indices, data = vectors.indptr, vectors.indices, vectors.data
    n = vectors.shape[0] - 1
    if n <= 0:
        return np.zeros(0)
    order = np.argsort(indices[indptr[0] : indptr[1]], kind="stable")
    columns = indices[indptr[0] : indptr[1]][order]
    values = data[indptr[0] : indptr[1]][order]
    rest_columns, rest_values = indices[indptr[1] :], data[indptr[1] :]
    if not len(columns) or not len(rest_columns):
        return np.zeros(n)
    # The columns the first row has, marked on the whole vocabulary (one byte each): a binary
    # search for each of the other rows' columns cost eight times as long as marking, reading
    # the marks, and searching only for the columns that are there.
    marked = np.zeros(vectors.shape[1], dtype=bool)
    marked[columns] = True
    hit = np.flatnonzero(marked[rest_columns])
    at = np.searchsorted(columns, rest_columns[hit])
    rows = np.repeat(np.arange(n), np.diff(indptr[1:]))
    sums = np.bincount(rows[hit], weights=rest_values[hit] * values[at], minlength=n)
    return sums.astype(np.float64, copy=False)


def plain_vectors(texts: Sequence[str], ngrams: tuple[int, int] = (1, 3)) -> sp.csr_matrix:
    """Unit-length rows of sublinear term frequencies over the texts' own character n-grams
    (no idf, no trained vocabulary): their dot product is the cosine similarity of two texts,
    for comparing a handful of texts when no model is trained."""
    normalised = [normalise(t) for t in texts]
    keys, rows = _char_keys(normalised, *ngrams)
    unique, cols = np.unique(keys, return_inverse=True)
    matrix = sp.csr_matrix(
        (np.ones(len(keys)), (rows, cols.ravel())), shape=(len(texts), len(unique))
    )
    matrix.sum_duplicates()
    np.log(matrix.data, out=matrix.data)
    matrix.data += 1.0
    _normalise_rows(matrix)
    return matrix
