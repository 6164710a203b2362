#!/usr/bin/env python3
"""First full runs of the same N-stage pipeline by several anneal binaries and by ninja,
interleaved round by round (binary A, binary B, …, ninja; again), each in a fresh directory:
median wall seconds and median CPU seconds (user + system of the tool and its children, the
stages, from the kernel's accounting), and both as ratios to ninja's. On a shared machine the
interleaving puts every tool under the same load; CPU time is what each one costs.

    python3 bench/runner/first.py chain 300 5 /tmp/anneal-base .build/release/anneal
"""
import os, resource, shutil, statistics, subprocess, sys, tempfile, time

shape, n, rounds, binaries = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
work = tempfile.mkdtemp(prefix="anneal-first-")

def measure(cmd, cwd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.time() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

tools = [os.path.abspath(b) for b in binaries] + ["ninja"]
results = {t: [] for t in tools}
for _ in range(rounds):
    for t in tools:
        d = os.path.join(work, "run")
        shutil.rmtree(d, ignore_errors=True)
        kind = "ninja" if t == "ninja" else "anneal"
        subprocess.run(["python3", os.path.join(root, "bench/runner/gen_pipeline.py"), kind, shape, str(n), d], check=True)
        cmd = ["ninja", "-j", str(os.cpu_count())] if t == "ninja" else [t, "run", "p.yaml", "--cache", "cache"]
        results[t].append(measure(cmd, d))
shutil.rmtree(work, ignore_errors=True)

def medians(t):
    return statistics.median(w for w, _ in results[t]), statistics.median(c for _, c in results[t])
ninja_wall, ninja_cpu = medians("ninja")
print("%s, %d stages, %d rounds, load average %s" % (shape, n, rounds, " ".join(open("/proc/loadavg").read().split()[:3])))
print("%-44s %8s %8s %10s %9s" % ("tool", "wall(s)", "cpu(s)", "wall/ninja", "cpu/ninja"))
for t in tools:
    wall, cpu = medians(t)
    print("%-44s %8.2f %8.2f %10.1f %9.1f" % (t, wall, cpu, wall / ninja_wall, cpu / ninja_cpu))
