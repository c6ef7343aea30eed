// Package deploy holds no code: this folder is the production setup of a
// Shatter fleet (docs/OPERATIONS.md) — the systemd units of a node and of
// its Redis, the nginx site that terminates TLS in front of the nodes,
// and the environment files with every setting. Its tests keep them true:
// env_test.go checks the environment file against the server's real flags
// and the unit's stop timeout against the drain time; e2e_test.go runs
// Debian's nginx with this site in front of two nodes and plays through
// it over wss://, with the Go client and in Chromium.
package deploy
