"""Hot-spots and early warning (urbangov.analytics.hotspots): the text features against
scikit-learn's own TF-IDF, clustering on planted problems, the heat index and the weekly
bands by hand, and the CLI on the real Teddy Cup message board (skipped when absent)."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from sklearn.feature_extraction.text import TfidfVectorizer

from urbangov.analytics import hotspots as hs

TEDDY = Path("/work/shared/data/teddy_cup_2020c/hotspot_messages_with_votes.csv")


# --- features ----------------------------------------------------------------------------------


def test_features_equal_scikit_learn_char_tfidf() -> None:
    """With nothing dropped and no hashing collisions, our features are scikit-learn's
    TfidfVectorizer(analyzer="char", ngram_range=…, sublinear_tf=True): same cosines."""
    texts = [
        "丽发新城小区附近搅拌站噪音扰民",
        "丽发新城搅拌站粉尘大无法呼吸",
        "伊景园滨河苑捆绑销售车位",
        "投诉伊景园滨河苑车位捆绑销售",
        "路灯不亮晚上出行不便",
        "小区门口路灯坏了很久",
    ]
    for ngrams in ((2,), (2, 3)):
        ours = hs.text_features([texts], max_df=1.0, min_df=1, n_features=2**24, ngrams=ngrams)
        peer = TfidfVectorizer(
            analyzer="char", ngram_range=(min(ngrams), max(ngrams)), sublinear_tf=True
        ).fit_transform(texts)
        np.testing.assert_allclose(
            (ours @ ours.T).toarray(), (peer @ peer.T).toarray(), rtol=1e-5, atol=1e-6
        )


_FULL_WIDTH_TO_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def _documented_bigrams(text: str) -> list[str]:
    """The module's documented rule, written out with Python's own ``re`` and ``str``:
    full-width forms as ASCII, lower case, then runs of five or more digits and everything
    that is not a letter or a digit (``_`` too) separate the text; bigrams of what is left."""
    text = re.sub(r"\d{5,}", " ", text.translate(_FULL_WIDTH_TO_ASCII).lower())
    return [run[k : k + 2] for run in re.split(r"[\W_]+", text) for k in range(len(run) - 1)]


def test_features_follow_the_documented_cleaning_rule() -> None:
    """Our features work on code points with numpy; scikit-learn's TF-IDF over the rule as
    regular expressions (full width, case, long numbers, punctuation, underscores, emoji,
    a character whose lower case is two) must give the same cosines."""
    texts = [
        "Ａ３区　路灯坏了！！ＡＢＣ路灯",
        "A3区 路灯坏了!!ABC路灯",
        "电话13800138000请回电OK 电话1380请回电",
        "snake_case_words and İstanbul İzmir",
        "ｗｉｆｉ信号差 WiFi信号差_ｗｉｆｉ",
        "😀路灯😀坏了 x",
        "编号１２３４５６７的井盖丢失，编号12345井盖",
        "",
    ]
    ours = hs.text_features([texts], max_df=1.0, min_df=1, n_features=2**24)
    peer = TfidfVectorizer(analyzer=_documented_bigrams, sublinear_tf=True).fit_transform(texts)
    np.testing.assert_allclose(
        (ours @ ours.T).toarray(), (peer @ peer.T).toarray(), rtol=1e-5, atol=1e-6
    )
    # what the rule does shows: the full-width and the ASCII spellings share their bigrams
    assert (ours[0] @ ours[1].T).toarray()[0, 0] > 0.999
    assert ours[7].nnz == 0


def test_default_word_tokenizer_would_miss_the_shared_place() -> None:
    """The pitfall the character n-grams avoid: scikit-learn's default tokenizer keeps a
    Chinese clause as one token, so two messages about one place share nothing."""
    a, b = "丽发新城附近建搅拌站噪音扰民", "投诉丽发新城小区旁搅拌厂"
    words = TfidfVectorizer().fit_transform([a, b])
    assert (words @ words.T).toarray()[0, 1] == 0.0
    ours = hs.text_features([[a, b]], max_df=1.0, min_df=1)
    assert (ours @ ours.T).toarray()[0, 1] > 0.1


def test_fields_weigh_equally_and_rows_are_unit_length() -> None:
    titles = ["路灯不亮", "路灯不亮", "噪音扰民"]
    details = ["幸福路东段路灯一直不亮" * 20, "说明很短", "夜里工地施工"]
    x = hs.text_features([titles, details], max_df=1.0, min_df=1)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)
    # The identical titles link rows 0 and 1 even though one description is 20× longer.
    assert (x[0] @ x[1].T).toarray()[0, 0] > 0.4


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="one text per item"):
        hs.text_features([["a", "b"], ["c"]])
    with pytest.raises(ValueError, match="power of two"):
        hs.text_features([["a"]], n_features=1000)
    x = hs.text_features([["甲乙丙", "甲乙丙丁"]], max_df=1.0, min_df=1)
    with pytest.raises(ValueError, match="one entry per item"):
        hs.detect(x, times=[1.0])
    with pytest.raises(ValueError, match="finite"):
        hs.detect(x, times=[1.0, float("nan")])


# --- clustering --------------------------------------------------------------------------------


DAY = 86400.0


def _planted() -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    """Three problems raised again and again, and unrelated one-off messages."""
    rng = np.random.default_rng(7)
    problems = {
        "mixer": [
            "丽发新城附近搅拌站噪音扰民",
            "丽发新城附近搅拌站灰尘扰民",
            "投诉丽发新城附近搅拌站噪音",
        ],
        "parking": [
            "伊景园滨河苑捆绑销售车位",
            "投诉伊景园滨河苑捆绑销售车位",
            "伊景园滨河苑违法捆绑销售车位",
        ],
        "lamps": ["幸福路东段路灯不亮", "幸福路东段路灯坏了", "幸福路东段路灯晚上不亮"],
    }
    one_offs = [
        "咨询社保卡补办流程",
        "孩子入学需要哪些材料",
        "公交12路改线了吗",
        "医保异地报销怎么办理",
        "公园厕所没有纸",
        "咨询养老金调整时间",
        "小区电梯经常停运",
        "菜市场门口占道经营",
    ]
    texts, times, labels = [], [], []
    for name, variants in problems.items():
        for k in range(9):
            texts.append(variants[k % 3])
            times.append(rng.uniform(0, 20) * DAY)
            labels.append(name)
    for t in one_offs:
        texts.append(t)
        times.append(rng.uniform(0, 20) * DAY)
        labels.append("")
    votes = np.zeros(len(texts))
    return texts, np.array(times), votes, labels


def test_planted_problems_are_found_and_nothing_else() -> None:
    texts, times, votes, labels = _planted()
    x = hs.text_features([texts], max_df=0.5)
    clusters = hs.detect(x, times=times, votes=votes)
    found = sorted(tuple(sorted({labels[i] for i in c.members})) for c in clusters)
    assert found == [("lamps",), ("mixer",), ("parking",)]
    assert all(c.size == 9 for c in clusters)
    # The representative is a member, and its label names the problem.
    for c in clusters:
        assert c.representative in c.members.tolist()
        assert labels[c.representative] == labels[c.members[0]]


LAMPS = ["幸福路东段路灯不亮", "幸福路东段路灯坏了", "幸福路东段路灯晚上不亮"] * 2
BACKGROUND = [
    "咨询社保卡补办流程",
    "孩子入学需要哪些材料",
    "公交12路改线了吗",
    "医保异地报销怎么办理",
    "公园厕所没有纸",
    "小区电梯经常停运",
]


def _lamps(times: np.ndarray, xy: np.ndarray | None = None, **kw: object) -> list[int]:
    """Cluster sizes among six lamp messages (at ``times``) and six one-offs far away."""
    x = hs.text_features([LAMPS + BACKGROUND], max_df=1.0, min_df=1)
    all_times = np.concatenate([times, np.arange(6) * 50 * DAY])
    all_xy = None if xy is None else np.vstack([xy, np.full((6, 2), 50.0)])
    return sorted(c.size for c in hs.detect(x, times=all_times, xy_km=all_xy, **kw))  # type: ignore[arg-type]


def test_time_window_and_radius_keep_apart_what_is_far_apart() -> None:
    near = np.array([0, 1, 2, 3, 4, 5]) * DAY
    far_apart = np.array([0, 1, 2, 200, 201, 202]) * DAY
    params = hs.DetectParams(merge_similarity=1.01)  # no joining across the window
    assert _lamps(near, params=params) == [6]
    assert _lamps(far_apart, params=params) == [3, 3]
    # The same text in two places 10 km apart is two problems.
    xy = np.array([[0, 0], [0.2, 0], [0, 0.3], [10, 0], [10.2, 0], [10, 0.3]])
    assert _lamps(near, xy) == [3, 3]
    # Blocking groups: only items of one group are compared.
    assert _lamps(near, groups=[1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3]) == [3, 3]


def test_recurring_problem_is_joined_across_the_window() -> None:
    far_apart = np.array([0, 1, 2, 200, 201, 202]) * DAY
    assert _lamps(far_apart) == [6]


@pytest.mark.parametrize("spread", [1, 4096])
@pytest.mark.parametrize(("chunk", "span", "min_rows"), [(512, 0.25, 128), (16, 0.1, 4)])
def test_links_are_every_close_pair_by_brute_force(
    spread: int, chunk: int, span: float, min_rows: int
) -> None:
    """The linking step against all pairs compared by hand (dense cosines, the window, the
    radius, the blocks): few columns (a column table) and columns spread over 2^18 (sorted
    columns), long runs of rows and short ones."""
    from scipy import sparse

    rng = np.random.default_rng(11)
    n, columns = 300, 48
    dense = (rng.random((n, columns)) < 0.12) * rng.random((n, columns))
    dense /= np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), 1e-12)
    x = sparse.csr_matrix(dense.astype(np.float32))
    x = sparse.csr_matrix((x.data, x.indices * spread, x.indptr), shape=(n, columns * spread))
    times = rng.uniform(0, 120, n) * DAY
    xy = rng.uniform(0, 6, (n, 2))
    xy[::17] = np.nan  # no place: linked by text and time alone
    groups = rng.integers(0, 3, n)
    order = np.lexsort((times, groups))
    g = groups[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    bounds = list(zip(starts.tolist(), [*starts[1:].tolist(), n], strict=True))
    i, j, s = hs._edges(
        x,
        order,
        bounds,
        times,
        xy,
        window=30 * DAY,
        radius=1.5,
        threshold=0.3,
        chunk=chunk,
        span=span,
        min_rows=min_rows,
    )
    found = {(min(a, b), max(a, b)): float(v) for a, b, v in zip(i, j, s, strict=True)}
    assert len(found) == len(i)  # each pair once
    cosine = dense @ dense.T

    def close(a: int, b: int, threshold: float) -> bool:
        d = xy[a] - xy[b]
        return bool(
            groups[a] == groups[b]
            and abs(times[a] - times[b]) <= 30 * DAY
            and (not np.isfinite(d).all() or d @ d <= 1.5**2)
            and cosine[a, b] >= threshold
        )

    # clear of float32 rounding at the threshold: surely in, and at most these
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    expected = {(a, b): cosine[a, b] for a, b in pairs if close(a, b, 0.3 + 1e-6)}
    allowed = {(a, b) for a, b in pairs if close(a, b, 0.3 - 1e-6)}
    assert len(expected) > 50
    assert set(expected) <= set(found) <= allowed
    np.testing.assert_allclose([found[k] for k in expected], list(expected.values()), rtol=1e-5)


def test_star_clustering_does_not_chain() -> None:
    """A is like B, B like C, C like D, but A and D share nothing: single linkage would make
    one cluster of all; the star around the best-connected item takes only its neighbours."""
    texts = ["甲乙丙丁戊己", "丙丁戊己庚辛", "戊己庚辛壬癸", "庚辛壬癸子丑", "壬癸子丑寅卯"]
    x = hs.text_features([texts], max_df=1.0, min_df=1)
    sims = (x @ x.T).toarray()
    assert sims[0, 4] == 0 and sims[0, 1] > 0.3
    params = hs.DetectParams(min_size=2, min_similarity=0.3, merge_similarity=1.01)
    clusters = hs.detect(x, params=params)
    assert all(c.size <= 3 for c in clusters)
    assert sum(c.size for c in clusters) <= 5


def test_heat_by_hand() -> None:
    texts = ["幸福路东段路灯不亮"] * 4 + BACKGROUND
    x = hs.text_features([texts], max_df=1.0, min_df=1)
    times = np.array([0, 10, 25, 26, 1, 2, 3, 4, 5, 6]) * DAY
    votes = np.array([5, -3, 2, 0, 9, 9, 9, 9, 9, 9])
    reporters = ["a", "a", "b", "c", "d", "e", "f", "g", "h", "i"]
    w = hs.HeatWeights()
    (c,) = hs.detect(x, times=times, votes=votes, reporters=reporters, now=28 * DAY)
    # residents 3; agreement 5 + 0 + 2 + 0 = 7; last 14 days (14, 28]: 2, the 14 before: 1
    growth = (2 + 1) / (1 + 1)
    expected = (
        math.log(1 + 3)
        + w.votes * math.log(1 + 7)
        + w.growth * math.log(growth)
        + w.duration * math.log(1 + 26 / 7)
    )
    assert c.residents == 3 and c.agreement == 7 and c.growth == growth
    assert c.heat == pytest.approx(expected, abs=1e-6)


# --- early warning -----------------------------------------------------------------------------


def test_trailing_band_by_hand() -> None:
    counts = np.array([[4, 6, 5, 5, 6, 4, 5, 5, 30]], dtype=float)
    (band,) = hs.weekly_bands(counts, alpha=0.01)
    ref = counts[0, :8]
    mean = ref.mean()
    phi = max(1.0, ref.var(ddof=1) / mean)
    half = stats.norm.ppf(0.995) * math.sqrt(phi * mean)
    assert band.method == "trailing" and band.reference_weeks == 8
    assert band.expected == pytest.approx(mean)
    assert band.high == pytest.approx(mean + half)
    assert band.low == pytest.approx(max(0.0, mean - half))
    assert band.direction == "up"
    assert [b.series for b in hs.weekly_alerts(counts)] == [0]


def test_seasonal_baseline_expects_the_summer_peak() -> None:
    """Water complaints peak every summer: a summer week as high as earlier summers is no
    alarm, though it is far above the weeks just before it."""
    weeks = 52 * 3 + 30
    t = np.arange(weeks)
    season = 10 + 30 * (np.sin(2 * np.pi * (t - 13) / 52) > 0.6)
    rng = np.random.default_rng(1)
    counts = rng.poisson(season).astype(float)[None, :]
    (band,) = hs.weekly_bands(counts)
    assert band.method == "seasonal" and band.reference_weeks == 15
    assert band.expected > 25 and band.direction == ""
    # The same week without its seasonal history (only the trailing weeks) looks like a jump.
    (trailing,) = hs.weekly_bands(counts[:, -40:])
    assert trailing.method == "trailing"
    # A spike far above earlier summers is an alert.
    spiked = counts.copy()
    spiked[0, -1] = 120
    assert hs.weekly_alerts(spiked)[0].direction == "up"


def test_too_little_history_gives_no_band() -> None:
    assert hs.weekly_bands(np.array([[1.0, 2.0, 9.0]])) == []
    with pytest.raises(ValueError, match="outside"):
        hs.weekly_bands(np.zeros((1, 3)), week=5)


# --- the CLI on a real message board -----------------------------------------------------------

# Built by hand from the file's own text: each recurring problem we read in it, with the
# words that mark a message as being about it (its place, or its issue where there is no
# single place). A cluster is coherent when its messages carry one label.
LABELS = {
    "丽发新城搅拌站": ["丽发"],
    "五矿万境K9县": ["五矿万境"],
    "伊景园滨河苑车位": ["伊景园", "滨河苑", "武广新城"],
    "绿地海外滩高铁": ["海外滩"],
    "月亮岛路高压线": ["月亮岛"],
    "泉星公园规划": ["泉星公园"],
    "泉塘昌和以南地块规划": ["泉塘昌和"],
    "东四线以西新安路以南规划": ["东四线"],
    "松雅湖地铁站": ["松雅"],
    "凉塘路旧城改造": ["凉塘路"],
    "南山十里天池": ["十里天池"],
    "魅力之城油烟": ["魅力之城"],
    "人才购房补贴": ["购房补贴"],
    "洪山公园": ["洪山公园"],
    "58车贷": ["58车贷"],
    "荣盛花语城噪音": ["花语城"],
    "郝家坪小学": ["郝家坪"],
    "辉煌国际城二期饭店": ["辉煌国际城"],
    "绿地城际空间站": ["城际空间站"],
    "恒基凯旋门幼儿园": ["凯旋门"],
    "国家中心城市": ["国家中心"],
    "金科时代中心物业": ["金科"],
}


def _label(text: str) -> set[str]:
    return {name for name, words in LABELS.items() if any(w in text for w in words)}


@pytest.mark.skipif(not TEDDY.exists(), reason=f"{TEDDY} is not on this machine")
def test_cli_top_clusters_on_the_teddy_cup_board_are_coherent(settings: object) -> None:
    import csv

    from django.core.management import call_command

    out, err = StringIO(), StringIO()
    call_command(
        "hotspots",
        "detect",
        "--csv",
        str(TEDDY),
        "--text",
        "title,detail",
        "--time",
        "created_at",
        "--votes",
        "likes,dislikes",
        "--top",
        "10",
        stdout=out,
        stderr=err,
    )
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    clusters = result["clusters"]
    assert len(clusters) == 10
    assert [c["heat"] for c in clusters] == sorted((c["heat"] for c in clusters), reverse=True)
    with TEDDY.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    majorities = []
    members = agreeing = 0
    for c in clusters:
        assert set(c) == {"label", "heat", "size", "ids", "first", "last"}
        assert c["size"] == len(c["ids"]) >= 3
        assert c["first"] <= c["last"]
        labels = Counter(
            name for i in c["ids"] for name in _label(rows[i]["title"] + rows[i]["detail"])
        )
        assert labels, f"an unlabelled cluster: {c['label']}"
        name, n = labels.most_common(1)[0]
        # Every cluster is mostly about one problem …
        assert n / c["size"] >= 0.6, (c["label"], labels)
        majorities.append(name)
        members += c["size"]
        agreeing += n
    # … nearly all messages of the top ten agree with their cluster, and the top ten are
    # ten different problems.
    assert agreeing / members >= 0.9
    assert len(set(majorities)) == 10
    # The known big ones are there: the concrete mixer by 丽发新城 and the parking spaces
    # sold with 伊景园滨河苑's flats.
    assert {"丽发新城搅拌站", "伊景园滨河苑车位"} <= set(majorities[:4])


# --- the CLI's contract and its bad input -------------------------------------------------------


def _detect(*args: str) -> tuple[dict[str, object], str]:
    from django.core.management import call_command

    out, err = StringIO(), StringIO()
    call_command("hotspots", "detect", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue().strip().splitlines()[-1]), err.getvalue()


def _board(tmp_path: Path) -> Path:
    """Four messages about one street lamp (one of them posted twice), two unrelated ones."""
    path = tmp_path / "board.csv"
    path.write_text(
        "id,title,likes,dislikes,at\n"
        "a,公交12路改线了吗,0,0,2024-03-01 08:00:00\n"
        "b,幸福路东段路灯不亮,3,1,2024-03-02 20:00:00\n"
        "c,幸福路东段路灯坏了,0,0,2024-03-04 21:00:00\n"
        "d,咨询养老金调整时间,9,0,2024-03-05 09:00:00\n"
        "e,幸福路东段路灯晚上不亮,1,0,2024-03-09 22:30:00\n"
        "f,幸福路东段路灯不亮,0,0,2024-03-10 19:00:00\n",
        encoding="utf-8",
    )
    return path


def test_cli_prints_the_contract_with_zero_based_rows(tmp_path: Path) -> None:
    path = _board(tmp_path)
    result, err = _detect(
        "--csv", str(path), "--text", "title", "--time", "at", "--votes", "likes,dislikes"
    )
    (cluster,) = result["clusters"]  # type: ignore[misc]
    assert list(cluster) == ["label", "heat", "size", "ids", "first", "last"]
    assert cluster["ids"] == [1, 2, 4, 5] and cluster["size"] == 4
    assert cluster["first"] == "2024-03-02T20:00:00" and cluster["last"] == "2024-03-10T19:00:00"
    assert cluster["label"].startswith("幸福路东段路灯")
    # By hand: rows 1 and 5 are the same text (one resident): 3 residents; agreement
    # max(3 - 1, 0) + 0 + 1 + 0 = 3; all four in the last 14 days: growth (4 + 1) / (0 + 1);
    # 7.96 days from first to last.
    days = (8 * 24 - 1) / 24
    heat = math.log1p(3) + 0.5 * math.log1p(3) + 0.5 * math.log(5) + 0.25 * math.log1p(days / 7)
    assert cluster["heat"] == pytest.approx(heat, abs=1e-4)
    assert "4 messages" in err
    # Without --time there are no times to give.
    result, _err = _detect("--csv", str(path), "--text", "title")
    (cluster,) = result["clusters"]  # type: ignore[misc]
    assert cluster["first"] is None and cluster["last"] is None and cluster["ids"] == [1, 2, 4, 5]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--text", "title", "--csv", "/nonexistent/board.csv"], "board.csv: no such file"),
        (["--text", "body"], "no column 'body'"),
        (["--text", "title", "--time", "when"], "no column 'when'"),
        (["--text", "title", "--time", "title"], "is not a time"),
        (["--text", "title", "--votes", "title"], "is not a number"),
        (["--text", "title", "--votes", "likes,dislikes,id"], "one column (likes) or two"),
        (["--text", "title", "--top", "0"], "--top must be at least 1"),
        (["--text", " , "], "--text needs at least one column"),
    ],
)
def test_cli_bad_input_is_a_clear_error(tmp_path: Path, args: list[str], message: str) -> None:
    from django.core.management.base import CommandError

    path = _board(tmp_path)
    full = args if "--csv" in args else ["--csv", str(path), *args]
    with pytest.raises(CommandError) as raised:
        _detect(*full)
    assert message in str(raised.value)


def test_cli_reads_a_gbk_export_as_it_reads_utf8(tmp_path: Path) -> None:
    """The same board as Chinese Excel writes it (GBK, CRLF, tab-separated, Chinese column
    names with a stray space): the same clusters, rows and heat."""
    utf8, _err = _detect(
        "--csv", str(_board(tmp_path)), "--text", "title", "--time", "at",
        "--votes", "likes,dislikes",
    )  # fmt: skip
    lines = _board(tmp_path).read_text(encoding="utf-8").splitlines()
    header = "编号\t 标题 \t点赞\t反对\t时间"
    body = [line.replace(",", "\t") for line in lines[1:]]
    path = tmp_path / "board-gbk.csv"
    path.write_bytes(("\r\n".join([header, *body]) + "\r\n").encode("gbk"))
    gbk, err = _detect(
        "--csv", str(path), "--text", "标题", "--time", "时间", "--votes", "点赞,反对"
    )
    assert gbk == utf8 and gbk["clusters"]
    assert "as gb18030" in err


def test_cli_bad_file_exits_1_with_one_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    path = tmp_path / "photo.csv"
    # Not UTF-8, not GB18030, and bytes Windows-1252 leaves undefined (0x81, 0x8d).
    path.write_bytes(b"title\n\x89PNG\x00\x81\x8d\xff\n")
    env = {**os.environ, "DEBUG": "1"}
    command = [sys.executable, "-m", "urbangov.cli", "hotspots", "detect"]
    done = subprocess.run(
        [*command, "--csv", str(path), "--text", "title"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert (
        done.stderr.strip().splitlines()[-1]
        == f"CommandError: {path}: not valid cp1252 text (line 2, byte 11)"
    )
