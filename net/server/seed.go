package server

import (
	"crypto/rand"
	"encoding/binary"
)

// randomSeed draws an arena seed. The seed is logged in the replay log's
// name and header, so a random seed never prevents a replay.
func randomSeed() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("server: crypto/rand failed: " + err.Error())
	}
	return binary.LittleEndian.Uint64(b[:]) | 1
}
