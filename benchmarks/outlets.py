"""Themes invariant to the outlet: the dev sets re-published by invented outlets, each with its own house text.

    .venv/bin/python benchmarks/outlets.py [--datasets ecbplus multiling] [--styles A B] [--no-source]
                                            [--set KEY=VALUE ...]

Every article of ECB+ and MultiLing 2011 is re-published by one of six invented outlets, drawn at random (seeded,
independent of the label), which wraps it in its house text: a dateline ahead of the lead, a byline as its own
paragraph, two footer lines and a related-stories link (another article's title). Two families of house styles
with different outlets, wordings and layouts: ``A`` (the one the boilerplate rules were developed against) and
``B`` (written afterwards and never tuned on: a check that the rules generalise). With ``--no-source`` the records
carry no ``source`` field, so the outlets must be told apart from the text alone.

For each dataset and style the real pipeline (ingest -> embed -> cluster -> summarize) runs on the clean and on the
wrapped articles, and the script prints: theme ARI and B-cubed F1 of both (against ``topic`` for ECB+, ``label``
for MultiLing; stories against ``label`` on ECB+), the share of inserted house text that ingest marked and the
share of the original text it marked by mistake, the summary sentences that hold house text, the keywords and
labels that name it, and the largest outlet's share in the largest themes. The data are read from
``../shared/data`` beside the repo (the script exits cleanly without them); nothing is written into the repo.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

from pipeline import runner
from pipeline.artifacts import RunFolder
from pipeline.config import load_config
from pipeline.ingest import clean_text

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATASETS = {"ecbplus": ("ecbplus/articles.jsonl", "topic", "label"), "multiling": ("multiling2011/articles.jsonl",
                                                                                  "label", None)}
FIRST = ["Anna", "Omar", "Li", "Maria", "James", "Priya", "Tomasz", "Aisha", "Kenji", "Sofia", "David", "Chloe"]
LAST = ["Hartley", "Okafor", "Nguyen", "Castillo", "Brennan", "Iyer", "Kowalski", "Haddad", "Sato", "Lindqvist",
        "Mercer", "Dubois"]
CITIES = ["LONDON", "PARIS", "NEW YORK", "WASHINGTON", "BERLIN", "TOKYO", "NAIROBI", "SYDNEY", "MADRID", "CAIRO",
          "MEXICO CITY", "TORONTO"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _date(rng: random.Random) -> str:
    return f"{rng.choice(MONTHS)} {rng.randint(1, 28)}"


def _city(rng: random.Random) -> str:
    return rng.choice(CITIES)


# Each style: name, words that name the outlet, and a function returning (dateline, byline, footers, related).
# Dateline: text put before the lead (same paragraph); byline: its own paragraph (or None); footers: paragraphs
# after the body; related: a paragraph inserted between body paragraphs (or after the first sentence block).
STYLES = {
    "A": [
        ("The Meridian Post", {"meridian"}, lambda r, other: (
            f"{_city(r)} (The Meridian Post) — ", f"By {_name(r)}, Meridian Post staff",
            ["© 2024 The Meridian Post. All rights reserved.",
             "Follow The Meridian Post on social media for the latest updates."],
            f"Related: {other}")),
        ("Harbor Daily News", {"harbor"}, lambda r, other: (
            f"{_city(r)}, {_date(r)} — ", f"By {_name(r)} | Harbor Daily News",
            ["Harbor Daily News — independent journalism since 1921.", f"Read more: {other}"], None)),
        ("Global Wire Service", {"gws", "global wire"}, lambda r, other: (
            f"{_city(r)}, {_date(r)} /GWS/ - ", f"{_name(r)}, GWS correspondent",
            [f"(Reporting by {_name(r)}; Editing by {_name(r)})", "Sign up for the GWS morning briefing."],
            f"Read also: {other}")),
        ("Northern Star", {"northern star"}, lambda r, other: (
            f"{_city(r).title()} (NS) - ", f"Written by {_name(r)}",
            ["Copyright Northern Star Media Ltd.", "Share this story on Facebook and Twitter."],
            f"See also: {other}")),
        ("Eastbridge Times", {"eastbridge"}, lambda r, other: (
            f"{_city(r)}: ", f"{_name(r)} reports for the Eastbridge Times",
            ["This article first appeared in the Eastbridge Times print edition.",
             "Want more stories like this? Subscribe to Eastbridge Times today."], f"Related coverage: {other}")),
        ("Coastline Chronicle", {"coastline"}, lambda r, other: (
            "", "Staff report | Coastline Chronicle",
            ["Contact the newsroom at tips@coastline-chronicle.com", "Coastline Chronicle © 2024"],
            f"MORE: {other}")),
    ],
    "B": [
        ("Valley Courier", {"valley courier"}, lambda r, other: (
            f"{_city(r).title()}, {_date(r)} — ", f"{_name(r)} — Valley Courier",
            ["Valley Courier is a member of the Independent Press Council.",
             "Have a news tip? Email news@valleycourier.org."], None)),
        ("Pacific Ledger", {"pacific ledger"}, lambda r, other: (
            f"{_city(r)} ({_date(r)}) – ", f"Story: {_name(r)}. Photos: {_name(r)}.",
            ["Pacific Ledger: trusted news for the coast."], f"ALSO READ | {other}")),
        ("Metro Dispatch", {"metro dispatch"}, lambda r, other: (
            f"{_city(r)} / Metro Dispatch / ", None,
            ["The Metro Dispatch app is free on iOS and Android.", "Comments are closed for this article."],
            f"Don't miss: {other}")),
        ("Summit Herald", {"summit herald"}, lambda r, other: (
            f"{_city(r).title()}, {_date(r)}, 2024 (Summit Herald) ", f"Reporter: {_name(r)}",
            ["Summit Herald © 2024. Reproduction without permission is prohibited."], f"Recommended: {other}")),
        ("Lakeside Gazette", {"lakeside"}, lambda r, other: (
            "", f"{_name(r).upper()} | LAKESIDE GAZETTE",
            ["Lakeside Gazette welcomes letters to the editor.",
             "Click to read more from the Lakeside Gazette world desk."], None)),
        ("Orbit News Network", {"onn", "orbit"}, lambda r, other: (
            f"{_city(r)} (ONN) — ", "By ONN Staff",
            ["Copyright ONN. Distributed by the Orbit syndicate.", "Watch ONN live, 24 hours a day."],
            f"Trending now >> {other}")),
    ],
}


def wrap(rows: list[dict], style: str, seed: int, with_source: bool) -> tuple[list[dict], dict[str, list]]:
    """Wrapped records and, per record id, the (start, end) spans of inserted house text in the cleaned text."""
    rng = random.Random(seed)
    outlets = STYLES[style]
    titles = [r.get("title") or r["text"][:80] for r in rows]
    out, inserted = [], {}
    for i, row in enumerate(rows):
        name, _words, make = outlets[rng.randrange(len(outlets))]
        other = titles[rng.randrange(len(titles))].strip() or "More news"
        dateline, byline, footers, related = make(rng, other)
        body = clean_text(row["text"])
        paras = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
        glued = [f for f in footers if f.startswith("(Reporting")]  # wire credits are glued to the last paragraph
        # paragraphs as lists of (segment, is house text); a date-only first paragraph stays first
        lead_at = 1 if len(paras) > 1 and len(paras[0].split()) <= 5 else 0
        layout: list[list[tuple[str, bool]]] = [[(byline, True)]] if byline else []
        for j, p in enumerate(paras):
            segs = [(dateline, True)] if j == lead_at and dateline else []
            segs.append((p, False))
            if j == len(paras) - 1:
                for f in glued:
                    segs += [(" ", False), (f, True)]
            layout.append(segs)
            if related and j == min(len(paras) - 1, 1):
                layout.append([(related, True)])
        layout += [[(f, True)] for f in footers if f not in glued]
        text, spans = "", []
        for segs in layout:
            if text:
                text += "\n\n"
            for seg, house in segs:
                if house:
                    spans.append((len(text), len(text) + len(seg.rstrip())))
                text += seg
        rec = {k: v for k, v in row.items() if k != "source"}
        rec["text"] = text
        if with_source:
            rec["source"] = name
        out.append(rec)
        inserted[row["id"]] = [list(s) for s in spans]
    return out, inserted


def run_pipeline(rows: list[dict], root: Path, name: str, sets: list[str]) -> RunFolder:
    cfg = load_config(None, sets)
    root.mkdir(parents=True, exist_ok=True)
    src = root / f"{name}.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    rf = RunFolder(root / name)
    runner.run_ingest([src], rf, cfg)
    runner.run_embed(rf, cfg)
    runner.run_cluster(rf, cfg)
    runner.run_summarize(rf, cfg)
    return rf


def _overlap(a: int, b: int, spans: list) -> int:
    return sum(max(0, min(b, y) - max(a, x)) for x, y in spans)


def clean_marks(rf: RunFolder) -> dict[str, int]:
    """Non-space characters ingest marks in each clean article (the sources' own house text), by input id."""
    return {a["sources"][0]["input_id"]: sum(1 for x, y in a["boilerplate"] for ch in a["text"][x:y]
                                             if not ch.isspace()) for a in rf.read_jsonl("articles.jsonl")}


def marking(rf: RunFolder, inserted: dict[str, list], clean: dict[str, int]) -> dict:
    """How much inserted house text ingest marked, how much original text it marked beyond what it marks in the
    clean article (the source's own house text), and what it missed."""
    articles = rf.read_jsonl("articles.jsonl")
    ins_total = ins_marked = orig_total = orig_marked = 0
    missed: Counter = Counter()
    spans_of: dict[str, list] = {}
    for a in articles:
        rid = a["sources"][0]["input_id"]
        ins = inserted.get(rid, [])
        spans_of[a["id"]] = ins
        bp = a.get("boilerplate", [])
        n_ins = sum(y - x for x, y in ins)
        for x, y in ins:
            if sum(_overlap(p, q, [(x, y)]) for p, q in bp) < 0.9 * (y - x):
                missed[re.sub(r"[A-Z][a-z]+|\d+", "_", a["text"][x:y])[:40]] += 1
        ins_total += n_ins
        ins_marked += sum(_overlap(x, y, ins) for x, y in bp)
        # original characters (white space aside) marked as house text
        inside = [False] * len(a["text"])
        for x, y in ins:
            inside[x:y] = [True] * (y - x)
        orig_total += sum(1 for ch, k in zip(a["text"], inside) if not k and not ch.isspace())
        orig_marked += sum(1 for x, y in bp for j in range(x, y) if not inside[j] and not a["text"][j].isspace()) \
            - clean.get(rid, 0)
    return {"inserted_marked": ins_marked / max(ins_total, 1), "original_marked": orig_marked / max(orig_total, 1),
            "missed": missed.most_common(6), "spans_of": spans_of}


def house_checks(rf: RunFolder, inserted: dict[str, list], rows_by_id: dict[str, dict], style: str,
                 clean: dict[str, int]) -> dict:
    """How much inserted house text was marked, and whether any reached summaries, keywords or labels."""
    by_id = {a["id"]: a for a in rf.read_jsonl("articles.jsonl")}
    mk = marking(rf, inserted, clean)
    spans_of = mk.pop("spans_of")
    doc = rf.read_json("summaries.json")
    n_sent = n_house = 0
    examples = []
    for t in doc["themes"]:
        for g in [t, *t.get("stories", [])]:
            for s in g["summary"]:
                n_sent += 1
                if _overlap(s["start"], s["end"], spans_of.get(s["article_id"], [])):
                    n_house += 1
                    if len(examples) < 3:
                        examples.append(s["text"][:100])
    # keywords / labels that could only come from house text: in an inserted piece, absent from the clean texts
    clusters = rf.read_json("clusters.json")
    house_text = " ".join(by_id[aid]["text"][x:y].lower() for aid, sp in spans_of.items() for x, y in sp)
    clean = " ".join(f"{r.get('title') or ''}\n{clean_text(r['text'])}".lower() for r in rows_by_id.values())
    outlet_words = {w for _n, words, _f in STYLES[style] for w in words}
    bad_kw = set()
    for t in clusters["themes"]:
        for g in [t, *t.get("stories", [])]:
            phrases = list(g["keywords"]) + [p.strip().lower() for p in g["label"].split("·")]
            for k in phrases:
                k = k.lower()
                pat = re.compile(rf"\b{re.escape(k)}\b")
                named = any(re.search(rf"\b{re.escape(w)}\b", k) for w in outlet_words)
                if named or (pat.search(house_text) and not pat.search(clean)):
                    bad_kw.add(k)
    return {**mk, "summary_sentences": n_sent, "summary_with_house_text": n_house, "examples": examples,
            "house_keywords": sorted(bad_kw)}


def outlet_shares(rf: RunFolder, top: int = 5) -> list[tuple[str, int, float]]:
    """(label, size, share of its largest outlet) for the largest themes."""
    arts = {a["id"]: a for a in rf.read_jsonl("articles.jsonl")}
    out = []
    for t in rf.read_json("clusters.json")["themes"][:top]:
        c = Counter(arts[m["id"]].get("source") for m in t["articles"])
        out.append((t["label"], t["size"], c.most_common(1)[0][1] / t["size"]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["ecbplus", "multiling"], choices=sorted(DATASETS))
    ap.add_argument("--styles", nargs="+", default=["A", "B"], choices=sorted(STYLES))
    ap.add_argument("--no-source", action="store_true", help="records carry no source field")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], dest="sets")
    ap.add_argument("--keep", type=Path, help="keep the run folders here")
    ap.add_argument("--ingest-only", action="store_true", help="only measure what ingest marks (fast)")
    args = ap.parse_args()
    if not DATA.exists():
        print(f"dev data not found at {DATA}; nothing to measure")
        return 0
    root = args.keep or Path(tempfile.mkdtemp(prefix="outlets_"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"{'dataset':<10} {'run':<8} {'theme ARI':>9} {'B3 F1':>6} {'story ARI':>9} {'marked':>7} {'false':>6} "
          f"{'summ. house':>11} {'house kw':>8}")
    for ds in args.datasets:
        path, theme_field, story_field = DATASETS[ds]
        rows = [json.loads(x) for x in (DATA / path).read_text(encoding="utf-8").splitlines() if x.strip()]
        rows_by_id = {r["id"]: r for r in rows}
        cfg = load_config(None, args.sets)
        runs = [("clean", rows, {}, None)]
        for style in args.styles:
            wrapped, inserted = wrap(rows, style, args.seed, not args.no_source)
            runs.append((f"style {style}", wrapped, inserted, style))
        base = None
        for name, data, inserted, style in runs:
            if args.ingest_only:
                rf = RunFolder(root / ds / f"ingest_{style or 'clean'}")
                src = root / ds / f"ingest_{style or 'clean'}.jsonl"
                src.parent.mkdir(parents=True, exist_ok=True)
                src.write_text("".join(json.dumps(r) + "\n" for r in data), encoding="utf-8")
                runner.run_ingest([src], rf, cfg)
                if not style:
                    clean = clean_marks(rf)
                else:
                    hc = marking(rf, inserted, clean)
                    print(f"{ds:<10} {name:<8} marked {hc['inserted_marked']:.1%}  false {hc['original_marked']:.2%}  "
                          f"missed {hc['missed']}")
                continue
            rf = run_pipeline(data, root / ds, name.replace(" ", "_"), args.sets)
            if not style:
                clean = clean_marks(rf)
            ev = runner.run_evaluate(rf, cfg, labels=theme_field, story_labels=story_field)
            th, st = ev["themes"], ev.get("stories")
            base = base or th
            line = (f"{ds:<10} {name:<8} {th['ari']:>9.3f} {th['bcubed_f1']:>6.3f} "
                    f"{(st['ari'] if st else float('nan')):>9.3f}")
            if style:
                hc = house_checks(rf, inserted, rows_by_id, style, clean)
                line += (f" {hc['inserted_marked']:>7.1%} {hc['original_marked']:>6.2%} "
                         f"{hc['summary_with_house_text']:>4}/{hc['summary_sentences']:<6} {len(hc['house_keywords']):>8}")
                line += f"   dARI {th['ari'] - base['ari']:+.3f}  dF1 {th['bcubed_f1'] - base['bcubed_f1']:+.3f}"
                print(line)
                for ex in hc["examples"]:
                    print(f"{'':<20}house text in a summary: {ex!r}")
                if hc["missed"]:
                    print(f"{'':<20}house text not marked (shape, count): {hc['missed']}")
                if hc["house_keywords"]:
                    print(f"{'':<20}house keywords: {hc['house_keywords'][:8]}")
                shares = outlet_shares(rf)
                print(f"{'':<20}largest themes, share of their largest outlet: "
                      + "; ".join(f"{lab[:30]} ({n}): {s:.0%}" for lab, n, s in shares))
            else:
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
