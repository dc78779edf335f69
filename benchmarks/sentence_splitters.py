"""Compare maintained sentence splitters on news text: accuracy on hand-made cases, speed on news2017.

    .venv/bin/python benchmarks/sentence_splitters.py

Accuracy: each case is a paragraph with its expected sentences; a case counts as right when the splitter returns
exactly those sentences (whitespace-trimmed). Speed: characters per second over the first 1,000 articles of
``../shared/data/news2017.csv.gz`` (skipped when absent).
"""

from __future__ import annotations

import csv
import gzip
import time
from pathlib import Path

CASES = [
    ["The U.S. military said on Monday it had struck targets in Iraq.", "Officials gave no details."],
    ["Gen. Mark Milley spoke to reporters.", "He declined to comment on Iran."],
    ["Dr. Hussein Allawi described the relationship as “strong.”", "He told Asharq Al-Awsat more."],
    ["The war began when Hamas-led gunmen attacked southern Israel on Oct. 7, 2023, killing some 1,200 people.",
     "Israel's offensive has killed over 51,000 Palestinians."],
    ["“NATO wishes to support the government of Mustafa al-Kadhimi,” Allawi said.",
     "Morris said the forces had improved."],
    ["\"We are negotiating under fire... We can see cracks beginning to appear\" in Hamas's positions, the leader said.",
     "The talks continue."],
    ["The company earned $3.5 billion, up 4.2 percent from a year earlier.", "Shares rose 1.5%."],
    ["Sen. Elizabeth Warren, D-Mass., said before the vote that it was hard to imagine a worse choice.",
     "Pence then cast the deciding vote."],
    ["He arrived at 5 p.m. on Friday.", "The meeting lasted two hours."],
    ["Mr. Smith and Mrs. Jones met in Washington, D.C. on Tuesday.", "They discussed trade."],
    ["The Security Council met on Jan. 21.", "Guterres addressed it."],
    ["\"So I think we may have a chance to make progress,\" he said.", "\"But I'm not going to predict when.\""],
    ["Iraq's forces conducted more than 1000 operations against ISIS lately.",
     "ISIS still constitutes a threat, Morris said."],
    ["Lt. Gen. Abdul Amir al-Shammari announced the launch of the fourth phase.", "It covers 17,000 sq. km."],
    ["The U.N. agency said aid was blocked.", "No trucks entered Gaza on Sunday."],
]


def splitters():
    out = {}
    import pysbd

    seg = pysbd.Segmenter(language="en", clean=False, char_span=False)
    out["pysbd"] = lambda t: [s.strip() for s in seg.segment(t) if s.strip()]
    import blingfire

    out["blingfire"] = lambda t: [s.strip() for s in blingfire.text_to_sentences(t).split("\n") if s.strip()]
    from syntok import segmenter

    def syn(t):
        res = []
        for para in segmenter.analyze(t):
            for sent in para:
                s = "".join(tok.spacing + tok.value for tok in sent).strip()
                if s:
                    res.append(s)
        return res

    out["syntok"] = syn
    from pipeline.text import split_sentences

    out["pipeline (blingfire + guards)"] = lambda t: [t[a:b] for a, b in split_sentences(t)]
    return out


def news_texts(limit=1000):
    path = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "news2017.csv.gz"
    if not path.exists():
        return []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows[:limit] if r.get("text")]


def main():
    texts = news_texts()
    n_chars = sum(map(len, texts))
    print(f"{'splitter':28s} {'cases right':>12s} {'chars/s':>12s}")
    for name, fn in splitters().items():
        right = sum(fn(" ".join(case)) == case for case in CASES)
        wrong = [case for case in CASES if fn(" ".join(case)) != case]
        speed = float("nan")
        if texts:
            t0 = time.perf_counter()
            for t in texts:
                fn(t)
            speed = n_chars / (time.perf_counter() - t0)
        print(f"{name:28s} {right:>5d}/{len(CASES):<6d} {speed:>12,.0f}")
        for case in wrong[:3]:
            print("    missed:", fn(" ".join(case)))


if __name__ == "__main__":
    main()
