package server

import (
	"net/http"
	"time"
)

// HTTPLimits bound every request on the public and admin listeners, so a
// connection that sends its request slowly, goes silent between requests
// or never reads its response gives its goroutine and descriptor back. A
// zero field takes its default. WebSocket sessions are not bound by them:
// the upgrade clears the connection's deadlines, and the session sets its
// own.
type HTTPLimits struct {
	// HeaderTimeout bounds reading a request's headers (5 s).
	HeaderTimeout time.Duration
	// RequestTimeout bounds reading a whole request, its body included,
	// from its first byte (30 s).
	RequestTimeout time.Duration
	// WriteTimeout bounds writing a response, from the end of its
	// request's headers (30 s). Longer responses (a pprof profile or
	// trace with seconds=N) extend their own deadline by N.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that sends no new
	// request for this long (60 s).
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's header block (16 KiB); a larger
	// one is answered 431.
	MaxHeaderBytes int
}

// Defaults of HTTPLimits.
const (
	DefaultHeaderTimeout  = 5 * time.Second
	DefaultRequestTimeout = 30 * time.Second
	DefaultWriteTimeout   = 30 * time.Second
	DefaultIdleTimeout    = 60 * time.Second
	DefaultMaxHeaderBytes = 16 << 10
)

func (h HTTPLimits) withDefaults() HTTPLimits {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&h.HeaderTimeout, DefaultHeaderTimeout)
	def(&h.RequestTimeout, DefaultRequestTimeout)
	def(&h.WriteTimeout, DefaultWriteTimeout)
	def(&h.IdleTimeout, DefaultIdleTimeout)
	if h.MaxHeaderBytes <= 0 {
		h.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return h
}

// server returns an http.Server for handler bounded by h.
func (h HTTPLimits) server(handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: h.HeaderTimeout,
		ReadTimeout:       h.RequestTimeout,
		WriteTimeout:      h.WriteTimeout,
		IdleTimeout:       h.IdleTimeout,
		MaxHeaderBytes:    h.MaxHeaderBytes,
	}
}
