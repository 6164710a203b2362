"""datatrove's own GopherRepetitionFilter + GopherQualityFilter (default thresholds,
spaCy blank("en") word splitting, nothing downloaded) on every EVERY-th document of
docs.jsonl, in-process (bench/data/run.sh, optional: needs /tmp/venv-datatrove).

  HF_HUB_OFFLINE=1 python clean_datatrove.py DOCS_JSONL [EVERY]
"""
import json
import resource
import sys
import time

from datatrove.data import Document
from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter


def main():
    every = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    texts = [json.loads(line)["text"] for i, line in enumerate(open(sys.argv[1], encoding="utf-8")) if i % every == 0]
    size = sum(len(t.encode()) for t in texts)
    repetition, quality = GopherRepetitionFilter(), GopherQualityFilter()
    # Warm up spaCy's tokenizer outside the timing.
    quality.filter(Document(text=texts[0], id="warm"))
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t = time.perf_counter()
    kept = 0
    for i, text in enumerate(texts):
        doc = Document(text=text, id=str(i))
        ok = repetition.filter(doc)
        if ok is True or (isinstance(ok, tuple) and ok[0]):
            ok = quality.filter(doc)
        if ok is True or (isinstance(ok, tuple) and ok[0]):
            kept += 1
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    used = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    print(json.dumps(dict(what="datatrove_gopher", docs=len(texts), every=every, seconds=wall, cpu_seconds=used,
                          docs_per_s=len(texts) / wall, mb_per_s=size / 1e6 / wall, kept=kept), sort_keys=True))


if __name__ == "__main__":
    main()
