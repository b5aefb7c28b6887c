# tests/e2e/story-lib.sh: the story's checks that every x86 example's
# end-to-end test makes (examples/common/story.c's lines, the guests of
# examples/guests). Sourced after tests/e2e/x86-lib.sh (fail, inorder) by
# x86-vmx.sh (Bochs) and kvm-vmm.sh (KVM); each sets, before calling
# story_check:
#   out       the transcript (the hypervisor's log)
#   uart      linux's COM1 as its device received it
#   STORY_GUESTS      the guests that must each be removed once
#   STORY_BLACKOUT_US a scheduler change's blackout must stay under this
#   STORY_CTL_FP_US   the RTOS control task's 4 ms sleep must end under
#                     this under fixed priority ...
#   STORY_CTL_BVT_US  ... and under BVT, which shares by weight
#   STORY_PI_US       the urgent task's wait for the shared mutex must stay
#                     under this, and within the holder's critical section
#                     plus STORY_PI_SLACK_US (default 0): the hypervisor's own
#                     path from the release to the urgent task running again
#   STORY_HELD_NS     linux may be held off its COM1 this long while it is
#                     handed back (the hypervisor's queued output drains first)
# The bounds are the machine's: Bochs's emulated time is exact, a KVM guest
# nested in QEMU TCG sees the jitter of an emulator.
story_count() { grep -cE "$1" <<<"$out" || true; }

story_check() {
	local g b c w hi bvt held cs waited rtc1_phase rtc1_only ticks back logged replayed shape tag got want n
	for g in $STORY_GUESTS; do
		[ "$(story_count "^\[guest\] $g: every VP has ended; guest removed$")" = 1 ] || fail "$g was not removed once"
	done
	[ "$(story_count '^\[vp\] linux: vp#[0-9]+ exited \(task ended\); VP deleted$')" = 1 ] || fail "linux's VP did not end by VP_EXIT"

	# The scheduler change (seeds 000/001).
	rest=$out
	inorder '^\[boot\] scheduler: fixed-priority .* changeable at run time by the service VM'
	inorder '^\[svc/vp#[0-9]+\] svc: at boot: active scheduler is fp \(id 0\)$'
	inorder '^\[sched\] SCHED_LOAD from svc/vp#[0-9]+ refused: HV_ERR_INTEGRITY; fp carries on$'
	inorder '^\[svc/vp#[0-9]+\] svc: SCHED_LOAD of a corrupted copy -> refused: digest not on the allowlist$'
	inorder '^\[sched\] quiesce: every CPU parked at its guest-resume path$'
	inorder '^\[sched\] loaded bvt \([0-9]+ bytes from svc memory at GPA 0x[0-9a-f]+\) as scheduler 1; its code at 0x[0-9a-f]+ is host r-x$'
	inorder '^\[sched\] change complete: bvt active, [0-9]+ VPs moved, blackout [0-9]+ us$'
	inorder '^\[svc/vp#[0-9]+\] svc: after the load: active scheduler is bvt \(id 1\)$'
	inorder '^\[sched\] quiesce: every CPU parked at its guest-resume path$'
	inorder '^\[sched\] scheduler 1 unloaded; arena at 0x[0-9a-f]+ is host rw- again$'
	inorder '^\[sched\] change complete: fp active, [0-9]+ VPs moved, blackout [0-9]+ us$'
	inorder '^\[svc/vp#[0-9]+\] svc: after the unload: active scheduler is fp \(id 0\)$'
	[ "$(story_count '^\[sched\] change complete')" = 2 ] || fail "expected exactly two scheduler changes"
	# Each blackout: first CPU parked to last resumed.
	while read -r b; do
		[ "$b" -lt "$STORY_BLACKOUT_US" ] || fail "a scheduler change's blackout was $b us (under $STORY_BLACKOUT_US us expected)"
	done < <(sed -nE 's/^\[sched\] change complete: .*, blackout ([0-9]+) us$/\1/p' <<<"$out")
	[ "$(story_count '^\[sched\] watchdog')" = 0 ] || fail "the watchdog fell back"

	# The control task sleeps 4 ms three times: it never wakes early; under
	# fixed priority it preempts linux at once, under BVT it may wait for
	# BVT's next pick.
	bvt=$(sed -n '/change complete: bvt active/,/change complete: fp active/p' <<<"$out")
	for c in 1 2 3; do
		w=$(sed -nE "s/^\[rtos\/vp#[0-9]+\] ctl: cycle $c: woke after ([0-9]+) us \(period\).*/\1/p" <<<"$out")
		if grep -qE "^\[rtos/vp#[0-9]+\] ctl: cycle $c: " <<<"$bvt"; then hi=$STORY_CTL_BVT_US; else hi=$STORY_CTL_FP_US; fi
		[ -n "$w" ] && [ "$w" -ge 4000 ] && [ "$w" -lt "$hi" ] ||
			fail "ctl cycle $c woke after ${w:-?} us (4000-$((hi - 1)) us expected)"
	done

	# Priority inheritance across guests (seed 002).
	rest=$out
	inorder '^\[rtos/vp#[0-9]+\] urgent: taking the mutex shared with the peer guest$'
	inorder '^\[sync\] rtos/vp#[0-9]+ \(p1\) sleeps on a mutex held by peer/vp#[0-9]+ \(p3\): lends it p1$'
	inorder '^\[sync\] peer/vp#[0-9]+ releases the mutex and wakes 1: back to p3$'
	inorder '^\[rtos/vp#[0-9]+\] urgent: got the shared mutex after [0-9]+ us$'
	# (The holder's lines may come before or after the urgent task's
	# attempt, depending on when each ran: all before the release.)
	held=$(sed -n '/releases the mutex and wakes/q;p' <<<"$out")
	grep -qE '^\[peer/vp#[0-9]+\] holder: took the shared mutex' <<<"$held" ||
		fail "the holder did not take the mutex before releasing it"
	grep -qE '^\[peer/vp#[0-9]+\] holder: critical section done after [0-9]+ us; unlocking$' <<<"$held" ||
		fail "the holder's critical section did not end before its release"
	cs=$(sed -nE 's/^\[peer\/vp#[0-9]+\] holder: critical section done after ([0-9]+) us.*/\1/p' <<<"$out")
	waited=$(sed -nE 's/^\[rtos\/vp#[0-9]+\] urgent: got the shared mutex after ([0-9]+) us$/\1/p' <<<"$out")
	[ -n "$cs" ] && [ -n "$waited" ] && [ "$waited" -le "$((cs + ${STORY_PI_SLACK_US:-0}))" ] &&
		[ "$waited" -lt "$STORY_PI_US" ] ||
		fail "the urgent task's wait (${waited:-?} us) is not bounded by the critical section (${cs:-?} us)"

	# Event routing to parallel VMMs (seed 003): the CMOS clock's ports.
	rest=$out
	inorder '^\[boot\] event router: .* rule: pio 0x70-0x71 of any guest -> rtc0; everything else -> main$'
	inorder '^\[route\] rtc0: linux/vp#[0-9]+ reads status B = 6 '
	inorder '^\[linux/vp#[0-9]+\] shell: rtc: MC146818 CMOS, status B 6 D 80 \(time valid\)$'
	# In the service VM's order (the hypervisor's own line about a rule may
	# come after an access the other CPU made under it).
	inorder "^\[svc/vp#[0-9]+\] svc: linux's RTC is served by VMM 1$"
	inorder '^\[route\] rtc1: linux/vp#[0-9]+ reads [a-zA-Z ]+ = [0-9]+ \(access [0-9]+ of this VMM\)$'
	inorder "^\[svc/vp#[0-9]+\] svc: ROUTE_MOVE of rule [0-9]+ -> status 0; linux's RTC is served by VMM 1 now$"
	inorder '^\[route\] svc/vp#[0-9]+: rule [0-9]+ removed$'
	[ "$(story_count '^\[route\] svc/vp#[0-9]+: rule [0-9]+ added: pio 0x70-0x71 of linux -> parallel VMM rtc1 \(priority 0\)$')" = 1 ] ||
		fail "the rule sending linux's clock to rtc1 was not added once"
	[ "$(story_count '^\[route\] svc/vp#[0-9]+: rule [0-9]+ moved to parallel VMM rtc0$')" = 1 ] ||
		fail "the rule was not moved to rtc0 once"
	[ "$(story_count '^\[route\] rtc1 entered through its transition hook: ran on its own stack')" = 1 ] ||
		fail "rtc1's transition hook did not report its own stack"
	# rtc1 serves only between the service VM's ROUTE_ADD call and the
	# return of its ROUTE_MOVE; rtc0 serves nothing from the return of
	# ROUTE_ADD to rtc1's last access. (The hypervisor's own lines about a
	# rule come after the call: on a host whose CPUs run truly in parallel
	# the other CPU's access may print before them.)
	rtc1_phase=$(sed -n "/svc: linux's RTC is served by VMM 1\$/,/svc: ROUTE_MOVE of rule/p" <<<"$out")
	[ "$(story_count '^\[route\] rtc1: ')" = "$(grep -cE '^\[route\] rtc1: ' <<<"$rtc1_phase")" ] ||
		fail "rtc1 served an access outside the time the rule sent the clock to it"
	rtc1_only=$(sed -n '/svc: ROUTE_ADD: rule/,$p' <<<"$out" | tac | sed -n '/^\[route\] rtc1: /,$p' | tac)
	[ "$(grep -cE '^\[route\] rtc0: ' <<<"$rtc1_only")" = 0 ] || fail "rtc0 served an access while the clock was routed to rtc1"

	# Garbage from a guest stops only what it should.
	[ "$(story_count '^\[vp\] rtos: vp#[0-9]+ created for a task by vp#0')" = 4 ] || fail "expected 4 task VPs"
	[ "$(story_count '^\[rtos/vp#[0-9]+\] bad: .* -> refused as expected$')" = 12 ] || fail "expected 12 refused garbage calls"
	[ "$(story_count 'UNEXPECTED|still alive')" = 0 ] || fail "a garbage call was not refused as expected"
	[ "$(story_count '^\[fault\] rtos/vp#[0-9]+: mmio write of 4 bytes at 0x7000000 \(not its memory or device\); VP stopped$')" = 1 ] ||
		fail "the stray write was not stopped"
	[ "$(story_count '^\[fault\] ')" = 1 ] || fail "a VP other than the stray writer was stopped"
	# The conventional guest's threads, time-sliced on its virtual timer.
	[ "$(story_count '^\[linux/vp#[0-9]+\] (shell: round [1-8] at tick [0-9]+; date: [0-9]+ s since 1970|batch: chunk [1-4]/4 at tick [0-9]+)$')" = 12 ] ||
		fail "conventional guest's threads incomplete"
	ticks=$(sed -nE 's/^\[linux\/vp#[0-9]+\] linux: all threads done after ([0-9]+) ticks.*/\1/p' <<<"$out")
	[ "${ticks:-0}" -ge 5 ] || fail "virtual timer ticks did not reach the guest (ticks=${ticks:-none})"
	[ "$(story_count '^\[panic\]')" = 0 ] || fail "hypervisor panic"

	# linux's COM1 (seed 004), in the log, in order.
	rest=$out
	inorder "^\[svc/vp#[0-9]+\] svc: linux's COM1 is passed through$"
	inorder "^\[iovirt\] svc/vp#[0-9]+: DEV_VIRTUALIZE: linux's COM1 is emulated: its ports trap"
	inorder "^\[svc/vp#[0-9]+\] svc: DEV_VIRTUALIZE of linux's COM1 -> status 0; it is emulated now$"
	inorder "^\[iovirt\] linux's COM1 passed through again: mode restored, linux held [0-9]+ ns "
	inorder "^\[svc/vp#[0-9]+\] svc: DEV_DEVIRTUALIZE of linux's COM1 -> status 0 after [0-9]+ polls; it is passed through again$"
	back=$(grep -E "^\[iovirt\] linux's COM1 passed through again" <<<"$out")
	read -r held logged replayed < <(sed -E 's/.* held ([0-9]+) ns .*, ([0-9]+) writes logged, ([0-9]+) replayed.*/\1 \2 \3/' <<<"$back")
	[ "$held" -le "$STORY_HELD_NS" ] || fail "linux was held ${held} ns, past the bound of $STORY_HELD_NS ns"
	[ "$logged" = "$replayed" ] || fail "$logged writes logged but $replayed replayed"
	# COM1 itself: linux's lines raw, then (virtualized) tagged lines, then raw
	# again; linux's bytes are exactly what it wrote, in order.
	shape=$(grep -v '^$' <<<"$uart" | sed -E 's/^\[[a-z/]+\] .*/T/; t; s/.*/R/' | uniq | tr -d '\n')
	[ "$shape" = RTR ] || story_fail_uart "COM1 output is not raw, tagged, raw (shape $shape)"
	for tag in hv svc linux/uart; do
		grep -qE "^\[$tag\] " <<<"$uart" || story_fail_uart "no [$tag] line while COM1 was virtualized"
	done
	got=$(grep -v '^$' <<<"$uart" | sed -nE '/^\[linux\/uart\] /{s///;p;d}; /^\[[a-z/]+\] /d; p' | tr -d '\n')
	want="linux: booting on vcpu0 (console: COM1, passed through)"
	for n in $(seq 1 60); do want+="linux: tty line $n of 60: 0123456789abcdef"; done
	want+="linux: tty done"
	[ "$got" = "$want" ] || story_fail_uart "linux's COM1 output is not complete and in order"
}

story_fail_uart() { echo "$1" >&2; echo "--- COM1:" >&2; echo "$uart" >&2; exit 1; }
