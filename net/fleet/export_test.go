package fleet

// FlushMemory empties a memory directory in place, as a Redis restarted
// with nothing saved would be: the conformance suite's Restart hook.
func FlushMemory(d Directory) {
	m := d.(*memory)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reset()
}
