#!/usr/bin/env python3
"""What each guarantee of a scheduling request costs, in instructions.

`hv_sched_block()` + `hv_sched_wake()` of a ready entity does the
scheduler's own work (bench_sched's `wake_policy`: dequeue, enqueue,
preemption test) plus what the library guarantees around it. This script
takes those guarantees out of a copy of the source tree, one at a time and
then all together, rebuilds `bench_sched` and counts the instructions of
one block + wake pair under callgrind (two runs at k = 1,000 and 11,000,
the difference over 10,000, as scripts/bench.sh does). The removals are
measurements only: every patched build is unsafe and is thrown away.

Each removal is a list of exact text replacements. When the source moves
on and a replacement no longer applies, the script stops and names it:
update the removal here together with the code it measures.

Usage: scripts/sched-guarantees.py [--keep DIR | --list | --check]
(--keep: build in DIR and leave it; --list: print the guarantees measured;
--check: only check that the measured copy and every removal still fit the
source, without building: `make check` runs it as lint.sched-guarantees.)

Prints JSON lines, "cost" always being the instructions the guarantee adds:
  sched.<s>.wake, "without": "none"       the real pair, as bench.sh counts it
  sched.<s>.wake_policy, "everything"     the scheduler's own work alone
  sched.<s>.wake, "calls"                 the real pair; cost: what the two
                                          requests cost as calls of their own
                                          (the bench inlines them)
  sched.loop                              the bench loop alone
  sched.<s>.wake, "<domain guarantee>"    without it, both requests out of
                                          line; "domain": all of them
  sched.bvt.wake_policy, "<BVT guarantee>"  BVT's own work without it; "bvt":
                                          all of them
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = (10, 1000)
K1, K2 = 1000, 11000
PRAGMAS = (
    '#pragma GCC diagnostic ignored "-Wunused-function"\n'
    '#pragma GCC diagnostic ignored "-Wunused-parameter"\n'
    '#pragma GCC diagnostic ignored "-Wunused-variable"\n'
    '#pragma GCC diagnostic ignored "-Wunused-but-set-variable"\n'
)

DOM = "lib/sched/domain.c"
BVT = "lib/sched/bvt.c"

# Guarantees inside BVT's own enqueue, dequeue and preemption test. Each
# entry: name, what it buys, and the replacements (file, old, new) that take
# it out. Applied in this order when combined.
BVT_ITEMS = [
    ("time accounting",
     "a wake-up charges the woken entity's unseen run, settles the runner up "
     "to now and recomputes SVT over the queue and the runner, so the "
     "sleeper is placed against the exact SVT of that moment (not the one "
     "of the last scheduling point) and the preemption test uses exact "
     "virtual times",
     [(BVT, """	if (e->state == HV_SCHED_RUNNING || e->runtime_ns > b->charged_rt)
		charge(b, e, now, false);
	if (wants_warp""", """	if (wants_warp"""),
      (BVT, """	/* SVT includes the running entity's A up to now. */
	if (d->cpus != NULL && c->idx < d->cpu_count)
		curr = atomic_load_explicit(&d->cpus[c->idx].curr, memory_order_relaxed);
	if (curr != NULL && curr != e && curr->state == HV_SCHED_RUNNING) {
		struct bvt_ent *cb = ent(curr);

		if (!settled(cb, curr, now))
			settle_running(cb, curr, c, now);
		curr_avt = cb->avt;
	}
	svt = svt_publish(c, curr_avt);""", """	svt = svt_get(c);"""),
      (BVT, """			     settled(cent(curr), curr, now) ? ekey(cent(curr), curr)
							    : unsettled_key(cpu_priv, curr, now),""",
       """			     ekey(cent(curr), curr),""")]),
    ("feedback",
     "a count per priority level and a bitmap, so that top_prio() answers "
     "in O(1) for the domain's feedback",
     [(BVT, """	prio_add(c, b, e);
	if (c->queued < BVT_CAP)""", """	if (c->queued < BVT_CAP)"""),
      (BVT, """	prio_del(c, b);
	b->flags &= (uint8_t)~BVT_PUTBACK;""", """	b->flags &= (uint8_t)~BVT_PUTBACK;""")]),
    ("SMP safety",
     "an entity that wakes on another CPU keeps its lead over its old CPU's "
     "SVT (frames)",
     [(BVT, """	} else if (b->frame == c->idx) {
		b->avt = max_u64(b->avt, svt); /* the paper's rule */
	} else if (frame_svt(d, b, &src_svt)) {
		uint64_t lag = b->avt > src_svt ? b->avt - src_svt : 0;

		b->avt = min_u64(hv_add_sat_u64(svt, lag), BVT_AVT_MAX);
	} else {
		b->avt = svt;
	}
	b->frame = (uint8_t)c->idx;
}""", """	} else {
		b->avt = max_u64(b->avt, svt); /* the paper's rule */
	}
}""")]),
    ("scheduler change",
     "entities imported by a run-time scheduler change keep the place the "
     "import gave them; a new one starts at SVT",
     [(BVT, """	if (b->frame == BVT_IMPORTED) {
		b->frame = (uint8_t)c->idx;
		return;
	}""", ""),
      (BVT, """	if (b->flags & BVT_NEW) {
		place_new(b, c, svt);
	} else """, """	""")]),
    ("bounded storage",
     "the heaps live in caller storage of fixed size and enqueue cannot fail: "
     "entities beyond it wait on an overflow list; a queued entity is never "
     "queued twice",
     [(BVT, """	if (hv_heap_node_queued(&b->qnode) || (b->flags & BVT_IN_OVF))
		return;
	if (preempted) {""", """	if (preempted) {"""),
      (BVT, """	if (c->queued < BVT_CAP) {
		heap_insert(c, e, b);
	} else {
		hv_list_push_back(&c->overflow, &e->link);
		b->flags |= BVT_IN_OVF;
	}""", """	heap_insert(c, e, b);"""),
      (BVT, """	if (hv_heap_node_queued(&b->qnode)) {
		heap_delete(c, e, b);
		admit_overflow(c);
	} else if (b->flags & BVT_IN_OVF) {
		hv_list_remove(&e->link);
		b->flags &= (uint8_t)~BVT_IN_OVF;
	} else {
		return;
	}""", """	heap_delete(c, e, b);""")]),
    ("cheap scheduling point",
     "the memos and put-back marks that let a scheduling point keep the "
     "runner after tick() alone (pick at 242 instructions); every queue "
     "change drops them",
     [(BVT, """	c->memo_e = NULL;
	/* Queueing a queued""", """	/* Queueing a queued"""),
      (BVT, """	(void)d;
	c->memo_e = NULL;
""", """	(void)d;
"""),
      (BVT, """	b->flags &= (uint8_t)~BVT_PUTBACK;
	if (c->putback == e)
		c->putback = NULL;""", ""),
      (BVT, """		b->flags &= (uint8_t) ~(BVT_PUTBACK | BVT_YIELDED);
	}""", """	}""")]),
]

# Guarantees of the domain around every scheduler: switches of the measured
# copy of hv_sched_block() and hv_sched_wake() in bench/guarantees/block_wake.c,
# which replaces the real two functions (from BLOCK_FROM up to BLOCK_TO) in
# the scratch copy. DOMAIN_SHA is the sha256 of the text the copy was made
# from: when domain.c's two functions change, update the copy and this.
BLOCK_FROM = "struct hv_sched_feedback hv_sched_block("
BLOCK_TO = "struct hv_sched_feedback hv_sched_yield("
DOMAIN_SHA = "9b9ea621ac44f2b98e467f21df3957f518e9c74f8d090a5f1b25c8dce6d8c224"
COPY = "bench/guarantees/block_wake.c"
DOMAIN_ITEMS = [
    ("SMP safety", "GUARD_NO_SMP",
     "each request locks the CPU that guards the entity and checks it is still there"),
    ("placement", "GUARD_NO_PLACEMENT",
     "a wake-up goes to the least loaded allowed CPU unless its last one is close"),
    ("checks", "GUARD_NO_CHECKS",
     "a NULL, foreign or detached entity is refused with a status"),
    ("every state", "GUARD_NO_STATES",
     "waking an entity that is not blocked, or blocked but still running, has "
     "a defined result; a wake-up on an idle CPU asks it to reschedule"),
    ("feedback", "GUARD_NO_FEEDBACK",
     "the CPU, priorities, ready count, done and reschedule of each request"),
    ("ready count", "GUARD_NO_READY",
     "each CPU counts its ready entities (feedback and placement read it)"),
    ("scheduler change", "GUARD_NO_CHANGE",
     "requests go through the activation mechanism a run-time scheduler change switches"),
]


# apply()'s switches for domain.c's own block and wake, kept out of line.
NOINLINE = ["noinline"]


def block_wake(text):
    a = text.index(BLOCK_FROM)
    return a, text.index(BLOCK_TO, a)


def check_domain_copy():
    dom = open(os.path.join(ROOT, DOM)).read()
    a, b = block_wake(dom)
    sha = hashlib.sha256(dom[a:b].encode()).hexdigest()
    if sha != DOMAIN_SHA:
        sys.exit("sched-guarantees: hv_sched_block()/hv_sched_wake() in %s changed since %s "
                 "was made from them (sha256 %s): bring the copy up to date and set "
                 "DOMAIN_SHA in scripts/sched-guarantees.py" % (DOM, COPY, sha))


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def copy_tree(dst):
    files = subprocess.run(["git", "-C", ROOT, "ls-files", "-co", "--exclude-standard"],
                           check=True, capture_output=True, text=True).stdout.split("\n")
    for f in files:
        if not f or not os.path.isfile(os.path.join(ROOT, f)):
            continue
        os.makedirs(os.path.dirname(os.path.join(dst, f)) or dst, exist_ok=True)
        shutil.copy2(os.path.join(ROOT, f), os.path.join(dst, f))


def apply(src, bvt_items, switches=None):
    """Restore the scratch copy's patched files, then apply BVT's removals in
    order and, with @switches (a list, maybe empty), put the measured copy of
    block and wake in domain.c with those switches set."""
    for f in (DOM, BVT):
        shutil.copy2(os.path.join(ROOT, f), os.path.join(src, f))
    text = {BVT: open(os.path.join(src, BVT)).read()}
    for name, _, reps in bvt_items:
        for f, old, new in reps:
            if old not in text[f]:
                sys.exit("sched-guarantees: the removal of '%s' no longer applies to %s "
                         "(update scripts/sched-guarantees.py):\n%s" % (name, f, old))
            text[f] = text[f].replace(old, new, 1)
    if bvt_items:
        with open(os.path.join(src, BVT), "w") as out:
            out.write(PRAGMAS + text[BVT])
    if switches is not None:
        dom = open(os.path.join(src, DOM)).read()
        a, b = block_wake(dom)
        if switches == NOINLINE:
            # The real two functions, kept out of line as the copy keeps them.
            copy = dom[a:b]
            for f in ("hv_sched_block(", "hv_sched_wake("):
                copy = copy.replace("struct hv_sched_feedback " + f,
                                    "__attribute__((noinline)) struct hv_sched_feedback " + f, 1)
        else:
            copy = "".join("#define %s 1\n" % sw for sw in switches)
            copy += open(os.path.join(ROOT, COPY)).read()
        with open(os.path.join(src, DOM), "w") as out:
            out.write(PRAGMAS + dom[:a] + copy + dom[b:])


def instructions(build, sched, what, n):
    out = os.path.join(build, "callgrind.out")
    totals = []
    for k in (K1, K2):
        run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
             os.path.join(build, "bench", "bench_sched"), "--ops", sched, what, str(n), str(k)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    totals.append(int(line.split()[1]))
                    break
    return round((totals[1] - totals[0]) / (K2 - K1))


def main():
    keep = None
    if len(sys.argv) == 3 and sys.argv[1] == "--keep":
        keep = sys.argv[2]
    elif len(sys.argv) == 2 and sys.argv[1] == "--list":
        for name, _, what in DOMAIN_ITEMS:
            print("domain: %s: %s" % (name, what))
        for name, what, _ in BVT_ITEMS:
            print("bvt: %s: %s" % (name, what))
        return 0
    elif len(sys.argv) == 2 and sys.argv[1] == "--check":
        check_domain_copy()
        tmp = tempfile.mkdtemp(prefix="sched-guarantees.")
        try:
            os.makedirs(os.path.join(tmp, os.path.dirname(BVT)))
            os.makedirs(os.path.join(tmp, os.path.dirname(DOM)), exist_ok=True)
            apply(tmp, BVT_ITEMS)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print("sched-guarantees: the measured copy of block and wake and %d BVT removals "
              "fit the source" % len(BVT_ITEMS))
        return 0
    elif len(sys.argv) != 1:
        sys.exit("usage: scripts/sched-guarantees.py [--keep DIR | --list | --check]")
    if shutil.which("valgrind") is None:
        print("sched-guarantees: valgrind not installed (scripts/deps.sh installs it)",
              file=sys.stderr)
        return 77
    tmp = keep or tempfile.mkdtemp(prefix="sched-guarantees.")
    src, build = os.path.join(tmp, "src"), os.path.join(tmp, "build")
    try:
        copy_tree(src)
        run(["cmake", "-S", src, "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
             "-DHVCORE_BUILD_TESTS=OFF", "-DCMAKE_INTERPROCEDURAL_OPTIMIZATION=ON"],
            stdout=subprocess.DEVNULL)

        def measure(bvt_items, scheds, what="wake", switches=None):
            apply(src, bvt_items, switches)
            run(["cmake", "--build", build, "--target", "bench_sched"], stdout=subprocess.DEVNULL)
            return {(s, n): instructions(build, s, what, n) for s in scheds for n in SIZES}

        def emit(label, scheds, got, full, bench="wake"):
            for s in scheds:
                for n in SIZES:
                    rec = {"bench": "sched.%s.%s" % (s, bench), "n": n, "without": label,
                           "instructions": got[(s, n)]}
                    if full is not None:
                        rec["cost"] = full[(s, n)] - got[(s, n)]
                    print(json.dumps(rec), flush=True)

        check_domain_copy()
        all_s = ("fp", "rr", "bvt")
        full = measure([], all_s)
        emit("none", all_s, full, None)
        emit("everything", all_s, measure([], all_s, "wake_policy"), full, "wake_policy")
        # Each request is a call of its own from here on, in every build, so
        # that the compiler's inlining of them does not move with the
        # switches. "calls": what being calls costs over the inlined pair.
        base = measure([], all_s, switches=NOINLINE)
        emit("calls", all_s, full, base)
        # The measured copy with every switch off must be the real code.
        same = measure([], all_s, switches=[])
        if same != base:
            sys.exit("sched-guarantees: %s with no switch set counts %s, domain.c %s: "
                     "the copy is not the real code" % (COPY, same, base))
        full = base
        loop = measure([], ("fp",), "loop")
        for n in SIZES:
            print(json.dumps({"bench": "sched.loop", "n": n, "instructions": loop[("fp", n)]}))
        for name, switch, _ in DOMAIN_ITEMS:
            emit(name, all_s, measure([], all_s, switches=[switch]), full)
        emit("domain", all_s, measure([], all_s, switches=[sw for _, sw, _ in DOMAIN_ITEMS]),
             full)
        policy = measure([], ("bvt",), "wake_policy")
        for item in BVT_ITEMS:
            emit(item[0], ("bvt",), measure([item], ("bvt",), "wake_policy"), policy,
                 "wake_policy")
        emit("bvt", ("bvt",), measure(BVT_ITEMS, ("bvt",), "wake_policy"), policy,
             "wake_policy")
    finally:
        if keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
