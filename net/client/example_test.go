package client_test

import (
	"context"
	"log"
	"math"
	"time"

	"github.com/shatter/shatter/net/client"
	"github.com/shatter/shatter/net/wire"
)

// A bot steers on every snap, from the OnMessage callback, and the load
// generator's figures come from OnAck and Stats. (Not run: it needs a
// server.)
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var view client.Snapshot // Used only by the read loop's callbacks.
	opts := client.Options{
		Name: "bot",
		OnMessage: func(c *client.Client, m *wire.ServerMessage) {
			switch m.Type {
			case wire.TypeSnap:
				c.Snapshot(&view)
				if view.Alive {
					// Head for the arena's centre.
					dx, dy := 32768-float64(view.You.X), 32768-float64(view.You.Y)
					if _, err := c.SendInput(math.Atan2(dy, dx), false); err != nil {
						log.Print(err)
					}
				}
			case wire.TypeDied:
				if err := c.SendSpawn(); err != nil {
					log.Print(err)
				}
			}
		},
		OnAck: func(_ *client.Client, seq uint32, latency time.Duration) {
			log.Printf("input %d acknowledged after %v", seq, latency)
		},
	}
	c, err := client.Dial(ctx, "ws://127.0.0.1:4000/ws", opts)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.SendSpawn(); err != nil {
		log.Fatal(err)
	}
	<-c.Done()
	log.Printf("session %d ended: %v; %+v", c.Welcome().Session, c.Err(), c.Stats())
}
