"""The text classifier: its vectoriser against scikit-learn's, its hash table against a dict,
its metrics against scikit-learn's, the temperature against a brute-force search, the
explanations, serialisation (and refusal of corrupt or foreign bytes), grouped folds, and bad
input. Pure: no database."""

from __future__ import annotations

import io
import json
import math
import random
import unicodedata

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from urbangov.analytics import textclf
from urbangov.analytics.textclf import Config, ModelFormatError, TextError

MIXED = [
    "楼下水管漏水，水流了一地！",
    "Streetlight out on Main St. — please fix",
    "ＡＢＣ小区　噪音扰民　１２号楼",
    "燃气表读数不对😀",
    "   多余   空格\n\n换行  ",
    "水",
]


def _key(gram: str) -> int:
    k = 0
    for ch in gram:
        k = (k << 21) | ord(ch)
    return k


@pytest.mark.parametrize("min_df", [1, 2])
def test_char_block_equals_scikit_learn(min_df: int) -> None:
    texts = [textclf.normalise(t) for t in MIXED * 3 + ["另一条水管漏水"]]
    ours = textclf._fit_block("char", "all", 1.0, 1, 3, Config(min_df=min_df), texts)
    matrix = ours.transform(texts)
    reference = TfidfVectorizer(
        analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=min_df, lowercase=False
    )
    expected = reference.fit_transform(texts)
    names = reference.get_feature_names_out()
    assert matrix.shape == expected.shape
    # Same features, mapped by key, and the same values to rounding.
    position = {int(k): i for i, k in enumerate(ours.keys)}
    columns = [position[_key(g)] for g in names]
    assert np.abs(matrix[:, columns].toarray() - expected.toarray()).max() < 1e-12
    assert all(ours.name(position[_key(g)]) == g for g in names)
    # One text alone (counted by its own path) is exactly its row of the batch, and
    # scikit-learn's row of it.
    for i, text in enumerate(texts):
        alone = ours.transform([text])
        row = matrix[i]
        assert np.array_equal(alone.indices, row.indices)
        assert np.array_equal(alone.data, row.data)
        assert np.abs(alone[:, columns].toarray() - expected[i].toarray()).max() < 1e-12


def test_one_text_alone_is_its_row_of_the_batch_in_every_block(model: textclf.Model) -> None:
    titles, texts, _labels = corpus(seed=6, n=30)
    titles[3], texts[3] = "", ""  # nothing known in it: an empty row
    texts[4] = texts[4] * 40  # long, with counts above one
    batch = model.parts(titles, texts)
    for i in range(len(texts)):
        alone = model.parts([titles[i]], [texts[i]])
        for block, one in zip(batch, alone, strict=True):
            assert one.shape == (1, block.shape[1])
            assert np.array_equal(one.indices, block[i].indices)
            assert np.array_equal(one.data, block[i].data)


def test_hash_table_agrees_with_a_dict() -> None:
    rng = np.random.default_rng(3)
    keys = np.unique(rng.integers(1, 2**63, size=5000, dtype=np.uint64))
    # Keys that share their slot (same top bits after hashing) must still be told apart.
    table = textclf._Table(keys)
    reference = {int(k): i for i, k in enumerate(keys)}
    queries = np.concatenate([keys, rng.integers(1, 2**63, size=5000, dtype=np.uint64)])
    found = table.get(queries)
    assert [int(f) for f in found] == [reference.get(int(q), -1) for q in queries]


def test_normalise() -> None:
    assert textclf.normalise("ＡＢＣ，１２３　Ｘ") == "abc,123 x"
    assert textclf.normalise("a\x00b\tc\n\nd") == "a b c d"
    assert textclf.normalise("①号楼") == "1号楼"


def test_normalising_many_at_once_equals_one_by_one() -> None:
    # Pieces that could interact across the joins: Hangul jamo that compose (ᄀ + ᅡ = 가),
    # a combining accent, the Greek final sigma, white space and control characters at the
    # edges, full-width forms, and the joining character itself inside a text.
    pieces = ["ᄀ", "ᅡ", "\u0301", "e", "Σ", "ς", " ", "\t", "\x00", "\x85", "Ａ", "\u3000"]
    pieces += ["\ue000", "中", "ﬁ", "①", "İ", "ß", "a"]
    rnd = random.Random(7)
    for _ in range(3000):
        texts = [
            "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 6)))
            for _ in range(rnd.randint(0, 5))
        ]
        assert textclf.normalise_all(texts) == [textclf.normalise(t) for t in texts], texts
    assert textclf.normalise_all(["ᄀ", "ᅡ"]) == ["ᄀ", "ᅡ"]  # never composed across texts
    # The joined texts' NFKC, done part by part, is unicodedata's over the whole.
    for _ in range(3000):
        joined = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 12)))
        assert textclf._nfkc(joined) == unicodedata.normalize("NFKC", joined), joined


def corpus(seed: int = 1, n: int = 50) -> tuple[list[str], list[str], list[str]]:
    rnd = random.Random(seed)
    words = {
        "water": ["水管漏水", "停水", "自来水发黄", "water pipe burst", "no water"],
        "noise": ["噪音扰民", "装修太吵", "广场舞声音大", "loud music", "noisy neighbours"],
        "road": ["路面坑洼", "井盖松动", "道路破损", "pothole", "broken pavement"],
    }
    titles, texts, labels = [], [], []
    for label, phrases in words.items():
        for _ in range(n):
            a, b = rnd.sample(phrases, 2)
            titles.append(a)
            texts.append(f"{a}，{b}，已经{rnd.randint(2, 9)}天了，在{rnd.randint(1, 99)}号附近")
            labels.append(label)
    return titles, texts, labels


@pytest.fixture(scope="module")
def model() -> textclf.Model:
    titles, texts, labels = corpus()
    lexicon = textclf.lexicon_keys(["水管", "漏水", "噪音", "装修", "路面", "井盖"])
    return textclf.fit(titles, texts, labels, lexicon=lexicon)


def test_predicts_chinese_and_english(model: textclf.Model) -> None:
    texts = ["家里停水了，自来水发黄", "楼上装修太吵，噪音扰民", "there is a pothole on the road"]
    assert model.predict(["", "", ""], texts) == ["water", "noise", "road"]
    proba = model.predict_proba(["", "", ""], texts)
    assert proba.shape == (3, 3) and np.allclose(proba.sum(axis=1), 1.0)


def test_explanations_name_the_words_that_drove_it(model: textclf.Model) -> None:
    [p] = model.explain([""], ["楼上装修太吵，噪音扰民"], top=3, features=4)
    assert p.label == "noise" and p.top[0][0] == "noise"
    words = [f.text for f in p.features]
    assert any(w in words for w in ("噪音", "装修", "噪音扰民", "太吵"))
    assert all(len(w) >= 2 for w in words)
    weights = [f.weight for f in p.features]
    assert weights == sorted(weights, reverse=True) and weights[0] > 0


def test_evidence_rules_out_and_reweighs(model: textclf.Model) -> None:
    text = ["停水了，水管漏水"]
    index = {c: i for i, c in enumerate(model.classes)}
    ruled_out = np.ones((1, 3))
    ruled_out[0, index["water"]] = 0.0
    [p] = model.explain([""], text, evidence=ruled_out)
    assert p.label != "water" and dict(p.top).get("water", 0.0) == 0.0
    [q] = model.explain([""], text, evidence=np.ones((1, 3)))
    assert q.label == "water"


def test_temperature_matches_a_brute_force_search() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(400, 4))
    y = np.argmax(scores + rng.normal(scale=1.5, size=scores.shape), axis=1)
    found = textclf.fit_temperature(scores, y)
    n, k = scores.shape
    eps = 1 / (n + 2)

    def loss(t: float) -> float:
        z = scores / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        target = np.full((n, k), eps / (k - 1))
        target[np.arange(n), y] = 1 - eps
        return float(-(target * logp).sum(axis=1).mean())

    grid = np.exp(np.linspace(math.log(0.01), math.log(100), 4001))
    best = grid[int(np.argmin([loss(t) for t in grid]))]
    assert found == pytest.approx(best, rel=0.01)


def test_separable_data_does_not_give_certainty() -> None:
    titles, texts, labels = corpus(n=30)
    m = textclf.fit(titles, texts, labels)
    assert m.info["calibrated"]
    top = m.predict_proba([""], ["自来水发黄 停水"]).max()
    assert top < 1.0 and top <= (90 + 1) / (90 + 2) + 0.02


def test_scores_match_scikit_learn() -> None:
    truth = ["a", "a", "b", "b", "c", "c", "c", "a"]
    predicted = ["a", "b", "b", "b", "c", "a", "c", "a"]
    ours = textclf.score(truth, predicted)
    labels = ["a", "b", "c"]
    p, r, f, s = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    assert ours.macro_f1 == pytest.approx(f1_score(truth, predicted, average="macro"))
    assert ours.accuracy == pytest.approx(accuracy_score(truth, predicted))
    for i, label in enumerate(labels):
        c = ours.per_class[label]
        assert (c.precision, c.recall, c.f1, c.support) == pytest.approx((p[i], r[i], f[i], s[i]))


def test_calibration_error_by_hand() -> None:
    # Two bins used: 0.95 (right) and 0.55, 0.55 (one right): |0.95-1|/3 + 2|0.55-0.5|/3.
    proba = np.array([[0.95, 0.05], [0.55, 0.45], [0.45, 0.55]])
    truth = np.array([0, 0, 0])
    assert textclf.calibration_error(proba, truth, bins=10) == pytest.approx((0.05 + 2 * 0.05) / 3)


def test_round_trip_through_bytes(model: textclf.Model) -> None:
    data = model.to_bytes()
    again = textclf.Model.from_bytes(data)
    texts = ["停水了", "loud music at night", "井盖松动很危险"]
    assert np.allclose(
        model.predict_proba(["", "", ""], texts), again.predict_proba(["", "", ""], texts)
    )
    assert again.classes == model.classes and again.config == model.config
    assert again.to_bytes() == data


def _tamper(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def test_corrupt_foreign_and_other_format_bytes_are_refused(model: textclf.Model) -> None:
    data = model.to_bytes()
    with pytest.raises(ModelFormatError, match="corrupt"):
        textclf.Model.from_bytes(_tamper(data, len(data) - 100))
    with pytest.raises(ModelFormatError, match="truncated"):
        textclf.Model.from_bytes(data[:-10])
    with pytest.raises(ModelFormatError, match="mark"):
        textclf.Model.from_bytes(b"PK\x03\x04" + data[4:])
    with pytest.raises(ModelFormatError, match="mark"):
        textclf.Model.from_bytes(b"")
    head_end = data.index(b"\n", len(textclf.MAGIC))
    head = json.loads(data[len(textclf.MAGIC) : head_end])
    head["format"] = textclf.FORMAT + 1
    other = textclf.MAGIC + json.dumps(head).encode() + data[head_end:]
    with pytest.raises(ModelFormatError, match="format"):
        textclf.Model.from_bytes(other)


def test_a_pickled_payload_is_never_unpickled() -> None:
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array([object()], dtype=object))
    body = buffer.getvalue()
    import hashlib

    head = json.dumps(
        {"format": textclf.FORMAT, "length": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    ).encode()
    with pytest.raises(ModelFormatError):
        textclf.Model.from_bytes(textclf.MAGIC + head + b"\n" + body)


def test_empty_and_enormous_texts_are_refused() -> None:
    titles, texts, labels = corpus(n=10)
    with pytest.raises(TextError) as empty:
        textclf.fit([*titles, ""], [*texts, "   "], [*labels, "water"])
    assert empty.value.index == len(texts)
    with pytest.raises(TextError, match="characters"):
        textclf.fit(titles, [*texts[:-1], "水" * 200_001], labels)
    with pytest.raises(ValueError, match="two different labels"):
        textclf.fit(titles, texts, ["water"] * len(texts))
    with pytest.raises(TextError, match="no label"):
        textclf.fit(titles, texts, [*labels[:-1], " "])


def test_grouped_folds_keep_reposts_on_one_side() -> None:
    titles, texts, labels = corpus(n=20)
    titles += titles[:15]
    texts += [t + "  " for t in texts[:15]]  # the same text again, spaced differently
    labels += labels[:15]
    groups = textclf.text_groups(titles, texts)
    for train, test in textclf.grouped_folds(labels, groups, 5):
        assert not set(groups[train]) & set(groups[test])


def test_cross_validation_reports_what_the_cli_prints() -> None:
    titles, texts, labels = corpus(n=20)
    result = textclf.cross_validate(
        titles, texts, labels, lambda t, x, y: textclf.fit(t, x, y), k=3
    ).as_dict()
    for key in (
        "macro_f1",
        "accuracy",
        "n_train",
        "n_test",
        "per_class",
        "train_seconds",
        "predict_per_second",
    ):
        assert key in result
    assert result["n_test"] == 60 and result["macro_f1"] > 0.9
    assert set(result["per_class"]) == {"water", "noise", "road"}
    assert result["per_class"]["water"]["support"] == 20


def test_plain_vectors_are_unit_cosines() -> None:
    m = textclf.plain_vectors(["水管漏水", "水管漏水", "噪音扰民"])
    sims = (m @ m.T).toarray()
    assert sims[0, 1] == pytest.approx(1.0) and sims[0, 2] == pytest.approx(0.0)


def test_similarities_to_the_first_row_are_its_dot_products() -> None:
    rng = np.random.default_rng(11)
    for n_rows, n_cols, density in ((1, 5, 0.5), (6, 50, 0.3), (40, 400_000, 0.001), (5, 30, 0.0)):
        matrix = sp.random(n_rows, n_cols, density=density, format="csr", random_state=rng)
        # Columns out of order within rows, as a matrix built by hand may hold them.
        matrix.has_sorted_indices = False
        for r in range(n_rows):
            start, stop = matrix.indptr[r], matrix.indptr[r + 1]
            flip = slice(start, stop)
            matrix.indices[flip] = matrix.indices[flip][::-1]
            matrix.data[flip] = matrix.data[flip][::-1]
        dense = matrix.toarray()
        expected = dense[1:] @ dense[0]
        got = textclf.similarities_to_first(matrix)
        assert got.shape == (n_rows - 1,)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    # Rows that share most of the first row's columns, as near-duplicates do.
    first = sp.random(1, 100_000, density=0.003, format="csr", random_state=rng)
    near = [
        first * (0.5 + i) + sp.random(1, 100_000, density=0.001, random_state=rng)
        for i in range(20)
    ]
    matrix = sp.vstack([first, *near], format="csr")
    dense = matrix.toarray()
    got = textclf.similarities_to_first(matrix)
    np.testing.assert_allclose(got, dense[1:] @ dense[0], rtol=1e-12, atol=1e-15)
    assert (got > 0).all()
    texts = ["幸福路漏水", "幸福路水管漏水", "晚上噪音", "幸福路漏水"]
    vectors = textclf.plain_vectors(texts)
    got = textclf.similarities_to_first(vectors)
    assert got[2] == pytest.approx(1.0) and got[1] == 0.0 and 0.3 < got[0] < 1


def test_parts_made_once_serve_explain_and_similarity_alike(model: textclf.Model) -> None:
    titles, texts, _labels = corpus(seed=4, n=12)
    parts = model.parts(titles, texts)
    shared = model.explain(titles, texts, parts=parts)
    alone = model.explain(titles, texts)
    assert [(p.label, p.top, p.features) for p in shared] == [
        (p.label, p.top, p.features) for p in alone
    ]
    own = model.similarity_vectors(titles, texts, parts=parts)
    made = model.similarity_vectors(titles, texts)
    assert (own != made).nnz == 0
    # The shared matrix is left as it was for whoever else reads it.
    assert (parts[0] != model.parts(titles, texts)[0]).nnz == 0
