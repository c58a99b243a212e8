"""PII detection: precision and recall per type on the labelled corpus, and speed, for our
detector and for Microsoft Presidio's pattern recognizers, in the same run.

    .venv/bin/python bench/pii.py [--errors] [--repeat N] [--no-peer]

The corpus is ``tests/analytics/pii_corpus/`` (sentences with their spans marked inline,
written independently of the detector; its development and held-out parts are reported
apart and together). A found span counts:

- **exact** when a labelled span has the same type, start and end;
- **overlap** when it has the same type and shares at least one character with a labelled
  span (what matters for redaction: the value is masked, if with a little more or less).

Presidio (``pip install -e .[bench]``): its spaCy models cannot be downloaded here, so its
recognizers that need no NLP engine are called directly, each with the context words it ships
(context enhancement needs the NLP engine and is therefore off): ``EmailRecognizer``,
``PhoneRecognizer`` (regions CN, US, GB), ``CreditCardRecognizer``, ``UsSsnRecognizer``,
``UkNinoRecognizer``; every result is kept (``score_threshold`` 0, as the engine's default).
Types both cover: EMAIL, PHONE, BANK_CARD, and ID_NUMBER (Presidio: US SSN and UK NINO only,
no mainland ID). PERSON, ADDRESS and PLATE have no pattern recognizer in Presidio.

Speed: sentences per second over the whole corpus, ``--repeat`` passes (default 5), after one
warm-up pass (jieba's dictionary loads on first use; Presidio builds its recognizers once).

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.analytics.pii_corpus.corpus import Example, load
from urbangov.analytics import pii

TYPES = [t.value for t in pii.PiiType]
Found = list[tuple[int, int, str]]


def score(examples: list[Example], predicted: list[Found], types: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for t in types:
        gold_n = pred_n = 0
        tp_exact = tp_overlap_pred = tp_overlap_gold = 0
        for ex, pred in zip(examples, predicted, strict=True):
            gold = [s for s in ex.spans if s[2] == t]
            mine = [s for s in pred if s[2] == t]
            gold_n += len(gold)
            pred_n += len(mine)
            tp_exact += len(set(gold) & set(mine))
            tp_overlap_pred += sum(any(p[0] < g[1] and g[0] < p[1] for g in gold) for p in mine)
            tp_overlap_gold += sum(any(p[0] < g[1] and g[0] < p[1] for p in mine) for g in gold)
        out[t] = {
            "labelled": gold_n,
            "found": pred_n,
            "precision": _ratio(tp_exact, pred_n),
            "recall": _ratio(tp_exact, gold_n),
            "precision_overlap": _ratio(tp_overlap_pred, pred_n),
            "recall_overlap": _ratio(tp_overlap_gold, gold_n),
        }
    return out


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def ours(text: str) -> Found:
    return [(s.start, s.end, s.type.value) for s in pii.detect(text)]


def presidio() -> Callable[[str], Found] | None:
    try:
        from presidio_analyzer import EntityRecognizer
        from presidio_analyzer.predefined_recognizers import (
            CreditCardRecognizer,
            EmailRecognizer,
            PhoneRecognizer,
            UkNinoRecognizer,
            UsSsnRecognizer,
        )
    except ImportError:
        return None
    import tldextract
    import tldextract.tldextract

    # EmailRecognizer checks the domain with tldextract, which would fetch the public suffix
    # list over the network; use the snapshot it ships instead.
    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=())
    recognizers = [
        (EmailRecognizer(), "EMAIL_ADDRESS", "EMAIL"),
        (PhoneRecognizer(supported_regions=("CN", "US", "GB")), "PHONE_NUMBER", "PHONE"),
        (CreditCardRecognizer(), "CREDIT_CARD", "BANK_CARD"),
        (UsSsnRecognizer(), "US_SSN", "ID_NUMBER"),
        (UkNinoRecognizer(), "UK_NINO", "ID_NUMBER"),
    ]

    def detect(text: str) -> Found:
        results = []
        for recognizer, entity, _ in recognizers:
            results.extend(recognizer.analyze(text, [entity], None) or [])
        results = EntityRecognizer.remove_duplicates(results)
        names = {entity: ours for _, entity, ours in recognizers}
        return sorted({(r.start, r.end, names[r.entity_type]) for r in results if r.score > 0})

    return detect


def throughput(detect: Callable[[str], Found], texts: list[str], repeat: int) -> float:
    for t in texts:
        detect(t)
    started = time.perf_counter()
    for _ in range(repeat):
        for t in texts:
            detect(t)
    return round(repeat * len(texts) / (time.perf_counter() - started), 1)


def report(name: str, figures: dict[str, Any]) -> None:
    print(f"{name}:")
    for t, f in figures.items():
        print(
            f"  {t:10} n={f['labelled']:4} found={f['found']:4}  P={f['precision']}  R={f['recall']}"
            f"  (overlap P={f['precision_overlap']} R={f['recall_overlap']})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--errors", action="store_true", help="print our misses and false finds")
    parser.add_argument(
        "--split",
        choices=["dev", "heldout", "all"],
        default="all",
        help="the part whose errors --errors prints",
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()

    examples = load()
    texts = [e.text for e in examples]
    started = time.perf_counter()
    predicted = [ours(t) for t in texts]
    first_pass = time.perf_counter() - started

    if args.errors:
        for ex, pred in zip(examples, predicted, strict=True):
            if args.split != "all" and ex.split != args.split:
                continue
            gold, mine = set(ex.spans), set(pred)
            if gold != mine:
                print(f"{ex.source}: {ex.text}")
                for s in sorted(gold - mine):
                    print(f"    missed {s[2]} {ex.text[s[0] : s[1]]!r}")
                for s in sorted(mine - gold):
                    print(f"    extra  {s[2]} {ex.text[s[0] : s[1]]!r}")

    result: dict[str, Any] = {
        "bench": "pii",
        "sentences": len(examples),
        "by_part": dict(Counter(f"{e.language}/{e.split}" for e in examples)),
        "labelled_spans": dict(Counter(s[2] for e in examples for s in e.spans)),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    parts = {
        "all": list(range(len(examples))),
        "dev": [i for i, e in enumerate(examples) if e.split == "dev"],
        "heldout": [i for i, e in enumerate(examples) if e.split == "heldout"],
        "zh": [i for i, e in enumerate(examples) if e.language == "zh"],
        "en": [i for i, e in enumerate(examples) if e.language == "en"],
    }
    result["ours"] = {}
    for part, idx in parts.items():
        figures = score([examples[i] for i in idx], [predicted[i] for i in idx], TYPES)
        result["ours"][part] = figures
        if part in ("all", "heldout"):
            report(f"ours, {part}", figures)
    result["ours_first_pass_s"] = round(first_pass, 3)
    result["ours_sentences_per_s"] = throughput(ours, texts, args.repeat)
    shared_types = {
        pii.PiiType.EMAIL,
        pii.PiiType.PHONE,
        pii.PiiType.BANK_CARD,
        pii.PiiType.ID_NUMBER,
    }

    def ours_shared(text: str) -> Found:
        return [(s.start, s.end, s.type.value) for s in pii.detect(text, types=shared_types)]

    result["ours_shared_types_sentences_per_s"] = throughput(ours_shared, texts, args.repeat)
    print(
        f"ours: {result['ours_sentences_per_s']} sentences/s (first pass, with jieba's load: {first_pass:.2f} s)"
    )

    peer = None if args.no_peer else presidio()
    if peer is not None:
        import presidio_analyzer

        shared = ["EMAIL", "PHONE", "BANK_CARD", "ID_NUMBER"]
        peer_predicted = [peer(t) for t in texts]
        result["presidio_version"] = (
            presidio_analyzer.__version__
            if hasattr(presidio_analyzer, "__version__")
            else _version("presidio-analyzer")
        )
        result["presidio"] = {}
        for part, idx in parts.items():
            result["presidio"][part] = score(
                [examples[i] for i in idx], [peer_predicted[i] for i in idx], shared
            )
        report("presidio pattern recognizers, all", result["presidio"]["all"])
        report("presidio, English sentences only", result["presidio"]["en"])
        result["presidio_sentences_per_s"] = throughput(peer, texts, args.repeat)
        result["speed_ratio_ours_over_presidio"] = round(
            result["ours_sentences_per_s"] / result["presidio_sentences_per_s"], 2
        )
        result["speed_ratio_shared_types_ours_over_presidio"] = round(
            result["ours_shared_types_sentences_per_s"] / result["presidio_sentences_per_s"], 2
        )
        print(f"presidio: {result['presidio_sentences_per_s']} sentences/s")

    goals = {"ID_NUMBER": 0.99, "PHONE": 0.99, "PERSON": 0.9, "ADDRESS": 0.9}
    allf = result["ours"]["all"]
    result["goals"] = {
        "recall": {
            t: {"goal": g, "exact": allf[t]["recall"], "overlap": allf[t]["recall_overlap"]}
            for t, g in goals.items()
        },
        "precision_0.95_exact": {t: (allf[t]["precision"] or 0) >= 0.95 for t in TYPES},
    }
    print(json.dumps(result, ensure_ascii=False))


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


if __name__ == "__main__":
    main()
