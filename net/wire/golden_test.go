package wire

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden frames in testdata/golden")

// TestGolden checks that every example message encodes to the bytes in
// testdata/golden/NAME.hex, byte for byte, and that those bytes decode back
// to the message. The files are the reference frames for clients written in
// other languages; `go test -update` rewrites them after a deliberate change.
func TestGolden(t *testing.T) {
	var e Encoder
	var d Decoder
	for _, ex := range clientExamples() {
		t.Run(ex.name, func(t *testing.T) {
			frame := golden(t, ex.name, appendClient(&e, nil, &ex.msg))
			var got ClientMessage
			if err := d.DecodeClient(frame, &got); err != nil || got != ex.msg {
				t.Errorf("DecodeClient(%s.hex) = %+v, %v; want %+v", ex.name, got, err, ex.msg)
			}
		})
	}
	for _, ex := range serverExamples() {
		t.Run(ex.name, func(t *testing.T) {
			frame := golden(t, ex.name, appendServer(&e, nil, &ex.msg))
			var got ServerMessage
			if err := d.DecodeServer(frame, &got); err != nil || !reflect.DeepEqual(serverPart(&got), serverPart(&ex.msg)) {
				t.Errorf("DecodeServer(%s.hex) = %+v, %v; want %+v", ex.name, serverPart(&got), err, serverPart(&ex.msg))
			}
		})
	}
}

// golden compares frame with testdata/golden/NAME.hex, after rewriting the
// file with -update, and returns the file's bytes.
func golden(t *testing.T, name string, frame []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".hex")
	if *update {
		if err := os.WriteFile(path, []byte(hex.EncodeToString(frame)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := hex.DecodeString(string(bytes.TrimSpace(text)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !bytes.Equal(frame, want) {
		t.Errorf("encoded %s:\n got % x\nwant % x (%s)", name, frame, want, path)
	}
	return want
}
