// Package wire is the msgpack codec of the Shatter wire protocol, version 1
// (PROTOCOL.md): the one place that knows how each message looks as bytes.
//
// The server decodes client frames with Decoder.DecodeClient and encodes its
// replies with an Encoder; Go clients (the headless bot, the load generator,
// tests) do the reverse with Decoder.DecodeServer and the Encoder's client
// methods. Both sides reuse their buffers and message structs: encoding a
// snap and decoding an input allocate nothing, and neither uses reflection.
//
// Decoding follows the protocol's growth rules: unknown keys are skipped
// whatever they hold, keys may come in any order, integers may have any
// msgpack width, and an angle may be an int or a float. Everything else off
// the protocol is a *DecodeError carrying the bad_message code; the decoders
// never panic, whatever the bytes.
//
// Outline, by direction and then by layer:
//   - protocol.go: the protocol's constants (the close codes of its own
//     among them), Type with the wire names of the message types, ErrorCode
//     with the error codes, and MoveReason with the `why`s of a moved.
//   - clientmsg.go: the client-to-server messages (ClientMessage with Hello,
//     Input, Ping; a spawn has no fields): their structs, the Encoder's
//     AppendHello, AppendSpawn, AppendInput and AppendPing for Go clients,
//     and Decoder.DecodeClient for the server.
//   - servermsg.go: the server-to-client messages (ServerMessage with
//     Welcome, Snap, Died, Board, Pong, ErrorMessage, Moved): their structs
//     and the Encoder's Append methods for the server. Died and Board are
//     the arena's own events (sim.Died, sim.Board): the arena emits them,
//     and they are encoded and decoded as they are, with no copy into a
//     wire shape on the way. A board's fleet-wide part, which the network
//     side adds, is a FleetBoard beside it.
//   - serverdecode.go: Decoder.DecodeServer, for Go clients, and the
//     decoding of each server message's fields.
//   - encoder.go: Encoder and the msgpack writing primitives that every
//     Append method uses.
//   - decoder.go: Decoder, DecodeError with its sentinel errors, and what
//     both decoders share: finding `t` and walking a map's keys.
//   - read.go: the Decoder's msgpack reading primitives, one value each,
//     every length checked against the bytes left in the frame.
//   - skim.go: DecodeClient's fast path for inputs, which reads the usual
//     layout of an input straight from the bytes and leaves every other
//     frame to the full decoder.
//   - testdata/golden: one reference frame per message type, as hex, that
//     the Encoder must reproduce byte for byte; clients in other languages
//     can test against them.
//   - testdata/fuzz/FuzzDecodeClient: the committed fuzz corpus.
package wire
