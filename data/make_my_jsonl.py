"""Writes data/my.jsonl, the example user corpus of pipelines/my-data.yaml: 60 varied
paragraphs made by this script (no third-party text), plus one exact copy and one junk
line, so clean and dedup each have something to remove. Run: python3 data/make_my_jsonl.py"""
import json, random

random.seed(7)
places = ["the river town", "the hill village", "the harbour", "the old library", "the mountain pass", "the market square",
          "the lighthouse", "the school garden", "the northern valley", "the salt marsh", "the stone bridge", "the orchard"]
people = ["a baker", "the ferryman", "two teachers", "an old sailor", "the mayor", "a young painter", "the gardener",
          "three fishermen", "a travelling doctor", "the librarian", "a carpenter", "the night guard"]
actions = ["repaired the roof before the storm", "counted the boats at dawn", "planted beans along the wall",
           "wrote letters to distant cousins", "carried bread to the sick", "painted the doors bright blue",
           "taught the children to swim", "mended nets by the fire", "sold honey at the fair", "found an old map",
           "kept a diary of the weather", "built a bench under the oak", "sang at the spring festival",
           "rang the bell at noon", "measured the depth of the well"]
times = ["In the spring", "Every winter", "Last autumn", "On market days", "Before sunrise", "After the flood",
         "During the long summer", "Once a year", "When the snow melted", "On quiet evenings"]
reasons = ["because nobody else would", "so the town could rest", "to honour a promise", "for the joy of it",
           "as their parents had done", "while the others slept", "to prepare for visitors", "without asking for pay"]

def paragraph():
    # Each part is used once per paragraph: repeated phrases inside one document are what
    # Gopher's repetition rules reject, and a user's real text rarely repeats itself.
    n = random.randint(5, 7)
    parts = [random.sample(xs, n) for xs in (times, people, places, actions, reasons)]
    return " ".join("%s, %s near %s %s %s." % p for p in zip(*parts))

docs = [{"id": "doc%02d" % i, "source": "example", "text": paragraph()} for i in range(60)]
docs.append(dict(docs[3], id="doc03-copy"))
docs.append({"id": "junk1", "source": "example", "text": "<div>$$$ ### !!! ### $$$</div>"})
with open("data/my.jsonl", "w") as f:
    for d in docs:
        f.write(json.dumps(d) + "\n")
