"""Hugging Face tokenizers and tiktoken on the benchmark corpus (bench/data/run.sh).

  python tokenizer_peers.py train CORPUS VOCAB OUT_JSON   HF BpeTrainer (ByteLevel, min_frequency 2)
  python tokenizer_peers.py encode TOKENIZER_JSON CORPUS  HF encode_batch and tiktoken with the same merges

Prints one JSON object per measurement. Paragraphs (blank-line separated) are the units,
as in Anneal's bench. Set RAYON_NUM_THREADS to pin HF's threads.
"""
import json
import re
import sys
import time
import resource


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def paragraphs(path):
    text = open(path, encoding="utf-8").read()
    return [p for p in re.split(r"\n[ \t\r\f\v]*\n", text) if p.strip()]


def emit(**fields):
    print(json.dumps(fields, sort_keys=True), flush=True)


def train(corpus, vocab, out):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    texts = paragraphs(corpus)
    size = sum(len(t.encode()) for t in texts)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, min_frequency=2, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    c, t = cpu(), time.perf_counter()
    tok.train_from_iterator(texts, trainer=trainer)
    wall, used = time.perf_counter() - t, cpu() - c
    tok.save(out)
    emit(what="hf_bpe_train", vocab=vocab, seconds=wall, cpu_seconds=used, mb_per_s=size / 1e6 / wall)


def encode(tokenizer_json, corpus):
    from tokenizers import Tokenizer
    import tiktoken
    texts = paragraphs(corpus)
    size = sum(len(t.encode()) for t in texts)
    tok = Tokenizer.from_file(tokenizer_json)
    c, t = cpu(), time.perf_counter()
    ids = tok.encode_batch(texts, add_special_tokens=False)
    wall, used = time.perf_counter() - t, cpu() - c
    hf_tokens = sum(len(e.ids) for e in ids)
    emit(what="hf_encode_batch", vocab=tok.get_vocab_size(), seconds=wall, cpu_seconds=used,
         mb_per_s=size / 1e6 / wall, tokens=hf_tokens)

    # tiktoken cannot download its encodings here: build one from the same vocabulary
    # (GPT-2 byte-to-unicode map back to bytes, ranks = ids, the GPT-2 split pattern).
    spec = json.load(open(tokenizer_json, encoding="utf-8"))
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    unbyte = {chr(c): b for b, c in zip(bs, cs)}
    specials = {t["content"]: t["id"] for t in spec["added_tokens"]}
    ranks = {bytes(unbyte[ch] for ch in token): rank for token, rank in spec["model"]["vocab"].items()
             if token not in specials}
    pattern = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
    enc = tiktoken.Encoding(name="anneal", pat_str=pattern, mergeable_ranks=ranks, special_tokens=specials)
    c, t = cpu(), time.perf_counter()
    tt = [enc.encode_ordinary(x) for x in texts]
    wall, used = time.perf_counter() - t, cpu() - c
    same = sum(1 for a, b in zip(tt, ids) if a == b.ids)
    emit(what="tiktoken_encode_ordinary", vocab=len(ranks) + len(specials), threads=1, seconds=wall, cpu_seconds=used,
         mb_per_s=size / 1e6 / wall, tokens=sum(map(len, tt)), identical_to_hf=same, paragraphs=len(texts))


if __name__ == "__main__":
    if sys.argv[1] == "train":
        train(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        encode(sys.argv[2], sys.argv[3])
