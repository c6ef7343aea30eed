package server

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// checkAdminExposure refuses an admin listener that others can reach
// without a token: whoever reaches it can kick, ban and drain.
func checkAdminExposure(addr, token string) error {
	if addr == "" || token != "" || LoopbackAddr(addr) {
		return nil
	}
	return fmt.Errorf("admin listener %s is not a loopback address: set an admin token (-admin-token) or bind it to 127.0.0.1", addr)
}

// LoopbackAddr reports whether a listen address binds only loopback.
func LoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// requireToken answers 401 to a request that does not carry the admin
// token, as "Authorization: Bearer <token>" or "?token=<token>" (for
// EventSource, which cannot set headers). Without a token it lets all
// through: the listener is then on loopback (checkAdminExposure).
func requireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			got = r.URL.Query().Get("token")
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="shatter-admin"`)
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "unauthorized"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// adminWho names who made an admin request, for the action log: the
// remote address, and the X-Admin-User header the console (or a script)
// may set.
func adminWho(r *http.Request) string {
	if u := r.Header.Get("X-Admin-User"); u != "" {
		return fmt.Sprintf("%s (%.64q)", r.RemoteAddr, u)
	}
	return r.RemoteAddr
}

// logAction writes an operator's action to the log: who (adminWho), what
// happened, and its details as slog attributes. Every admin action goes
// through here.
func (s *Server) logAction(who, action string, attrs ...any) {
	s.log.Info("admin: "+action, append([]any{"who", who}, attrs...)...)
	// The console's recent events show it too: "banned by 127.0.0.1
	// (ana): prefix=203.0.113.0/24 minutes=60".
	var text strings.Builder
	fmt.Fprintf(&text, "%s by %s", action, who)
	for i := 0; i+1 < len(attrs); i += 2 {
		sep := " "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&text, "%s%v=%v", sep, attrs[i], attrs[i+1])
	}
	s.NoteEvent("action", text.String())
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// adminError answers {"error": msg} with status.
func adminError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg})
}
