#!/usr/bin/env python3
"""Writes the same N-stage DAG for anneal, ninja and (if asked) snakemake into DIR.

Shapes: chain (s0 -> s1 -> ... -> sN-1) and fan (root -> N-2 middles -> join). Every stage
concatenates its inputs and appends its index: a few bytes, so the runner's own overhead is
what gets measured."""
import os, sys

tool, shape, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
os.makedirs(out, exist_ok=True)

def deps(i):
    if shape == "chain":
        return [i - 1] if i > 0 else []
    if i == 0:
        return []
    return [0] if i < n - 1 else list(range(1, n - 1))

if tool == "anneal":
    lines = ["name: bench", "stages:"]
    for i in range(n):
        ins = deps(i)
        cat = " ".join("${inputs.i%d}/v" % d for d in ins)
        if len(ins) > 100:
            # A join of thousands of inputs: one token per input would make a command longer
            # than Linux passes in one argument (128 KiB), so it reads the paths from the
            # stage's environment, in input order.
            cat = "$(env | sed -n \"s/^ANNEAL_INPUT_I\\([0-9]*\\)=\\(.*\\)/\\1 \\2\\/v/p\" | sort -n | cut -d \" \" -f 2)"
        cmd = ("cat %s > ${outputs.o}/v; " % cat if ins else "") + "echo %d >> ${outputs.o}/v" % i
        lines.append("  s%d:" % i)
        lines.append("    run: sh -c '%s'" % cmd)
        if ins:
            lines.append("    inputs: {%s}" % ", ".join("i%d: s%d.o" % (d, d) for d in ins))
        lines.append("    outputs: [o]")
    open(os.path.join(out, "p.yaml"), "w").write("\n".join(lines) + "\n")
elif tool == "ninja":
    lines = ["rule step", "  command = sh -c 'cat $in /dev/null > $out; echo $idx >> $out'"]
    for i in range(n):
        lines.append("build s%d: step %s" % (i, " ".join("s%d" % d for d in deps(i))))
        lines.append("  idx = %d" % i)
    open(os.path.join(out, "build.ninja"), "w").write("\n".join(lines) + "\n")
elif tool == "snakemake":
    rules = ["rule all:\n    input: 's%d'\n" % (n - 1)]
    for i in range(n):
        ins = ", ".join("'s%d'" % d for d in deps(i))
        rules.append("rule r%d:\n    input: [%s]\n    output: 's%d'\n    shell: \"cat {input} /dev/null > {output}; echo %d >> {output}\"\n" % (i, ins, i, i))
    open(os.path.join(out, "Snakefile"), "w").write("\n".join(rules))
