//go:build linux

package sqlite

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// pinWriterThread locks the calling goroutine (the writer) to its thread and pins
// the thread to cpu, or to the last CPU the process may run on when cpu is
// negative. It returns the CPU and a function that undoes the pin, or -1 when it
// does not pin: another writer of this process holds the pin, or the process may
// run on one CPU only. An explicit cpu the process may not run on is an error.
func pinWriterThread(cpu int) (int, func(), error) {
	none := func() {}
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		return -1, none, nil
	}
	if cpu >= 0 && !allowed.IsSet(cpu) { // false beyond the set too
		return -1, none, fmt.Errorf("sqlite: the writer cannot be pinned to CPU %d: this process may run on CPUs %s", cpu, cpuList(&allowed))
	}
	if allowed.Count() < 2 || !writerPinned.CompareAndSwap(false, true) {
		return -1, none, nil
	}
	release := func() { writerPinned.Store(false) }
	if cpu < 0 {
		for c := len(allowed)*64 - 1; c >= 0; c-- {
			if allowed.IsSet(c) {
				cpu = c
				break
			}
		}
	}
	runtime.LockOSThread()
	var one unix.CPUSet
	one.Set(cpu)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		runtime.UnlockOSThread()
		release()
		return -1, none, nil
	}
	return cpu, func() {
		unix.SchedSetaffinity(0, &allowed)
		runtime.UnlockOSThread()
		release()
	}, nil
}

// threadID is the calling thread's id (tests read the writer's affinity by it).
func threadID() int { return unix.Gettid() }

func cpuList(s *unix.CPUSet) string {
	out := ""
	for c := 0; c < len(s)*64; c++ {
		if s.IsSet(c) {
			if out != "" {
				out += ","
			}
			out += fmt.Sprint(c)
		}
	}
	return out
}
