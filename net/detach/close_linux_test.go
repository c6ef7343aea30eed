//go:build linux

package detach

import (
	"io"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWaitsEndAtClose closes connections while their readers wait in
// the attachment or are about to, as a client's Close does after its
// last write: every reader must see the end. (A reader that, woken,
// waits again without trying because its last read came back short
// could wait for good: an attachment's registration may report a
// readiness from before that read. net/client's raw reader does not
// skip a read on a detached socket for that reason.)
func TestWaitsEndAtClose(t *testing.T) {
	for round := range 5 {
		const n = 50
		var wg sync.WaitGroup
		stuck := make(chan int, n)
		for i := 0; i < n; i++ {
			d, peer := pair(t)
			raw, _ := d.SyscallConn()
			done := make(chan struct{})
			go func() { // the reader
				defer close(done)
				buf := make([]byte, 4096)
				for {
					var rerr error
					err := raw.Read(func(fd uintptr) bool {
						for {
							m, e := unix.Read(int(fd), buf)
							switch {
							case e == unix.EAGAIN:
								return false
							case e != nil:
								rerr = e
								return true
							case m == 0:
								rerr = io.EOF
								return true
							}
						}
					})
					if err != nil || rerr != nil {
						return
					}
				}
			}()
			go func() { // the peer: sends a few frames, reads until EOF, closes
				for k := 0; k < 5; k++ {
					peer.Write([]byte("snapshot"))
					time.Sleep(time.Millisecond)
				}
				io.Copy(io.Discard, peer)
				peer.Close()
			}()
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				time.Sleep(time.Duration(i%7) * time.Millisecond)
				d.Write([]byte("close"))
				d.Close()
				select {
				case <-done:
				case <-time.After(3 * time.Second):
					stuck <- i
				}
			}(i)
		}
		wg.Wait()
		close(stuck)
		if len(stuck) > 0 {
			t.Fatalf("round %d: %d readers stuck", round, len(stuck))
		}
	}
}
