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
// Outline:
//   - message.go: Type, the message structs (ClientMessage with Hello,
//     Input, Ping; ServerMessage with Welcome, Snap, Died, Board, Pong,
//     ErrorMessage), ErrorCode and the protocol constants.
//   - encode.go: Encoder and its Append methods, one per message type.
//   - decode.go: Decoder, DecodeClient, DecodeServer and DecodeError.
//   - testdata/golden: one reference frame per message type, as hex, that
//     the Encoder must reproduce byte for byte; clients in other languages
//     can test against them.
//   - testdata/fuzz/FuzzDecodeClient: the committed fuzz corpus.
package wire
