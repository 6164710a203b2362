"""Checks that Hugging Face `tokenizers` loads Anneal's tokenizer.json and encodes a
held-out text to exactly Anneal's ids (and decodes them back to the text).

Usage: python check_hf_tokenizer.py DIR
DIR holds tokenizer.json, heldout.txt and ids.json, written by the Swift test
TokenizerTests/writesHuggingFaceFixture (see check_hf_tokenizer.sh).
"""
import json
import sys
from pathlib import Path

from tokenizers import Tokenizer


def main() -> int:
    folder = Path(sys.argv[1])
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    # Bytes, not read_text(): universal newlines would turn the text's CRLF into LF.
    text = (folder / "heldout.txt").read_bytes().decode("utf-8")
    expected = json.loads((folder / "ids.json").read_text())
    got = tokenizer.encode(text, add_special_tokens=False).ids
    print(f"anneal ids: {len(expected)}, tokenizers ids: {len(got)}, vocab: {tokenizer.get_vocab_size()}")
    if got != expected:
        first = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
        print(f"MISMATCH at token {first}: tokenizers {got[first:first + 8]} vs anneal {expected[first:first + 8]}")
        print("tokens:", [tokenizer.id_to_token(i) for i in got[max(0, first - 3):first + 5]])
        return 1
    decoded = tokenizer.decode(got, skip_special_tokens=False)
    if decoded != text:
        print("MISMATCH: decoding the ids does not give the held-out text back")
        return 1
    print("OK: identical ids and lossless decode")
    return 0


if __name__ == "__main__":
    sys.exit(main())
