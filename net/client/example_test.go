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

// A client follows moves between the nodes of a fleet by itself; a load
// generator times them with OnMove and counts them with Stats. (Not run:
// it needs a fleet.)
func ExampleDial_moves() {
	opts := client.Options{
		Name: "bot",
		OnMessage: func(_ *client.Client, m *wire.ServerMessage) {
			if m.Type == wire.TypeMoved {
				log.Printf("moved {why:%s url:%s}", m.Moved.Why, m.Moved.URL)
			}
		},
		OnMove: func(c *client.Client, m client.Move) {
			log.Printf("now on %s as session %d, %v after the moved", m.To, c.Welcome().Session, m.ToSnap)
		},
	}
	c, err := client.Dial(context.Background(), "ws://127.0.0.1:4000/ws", opts)
	if err != nil {
		log.Fatal(err)
	}
	<-c.Done()
	log.Printf("moves: %+v; ended: %v", c.Stats().Moves, c.Err())
}
